from django.apps import AppConfig


class DbSupportConfig(AppConfig):
    name = "tests.dbsupport"
    label = "aml_salvage_test_dbsupport"
    verbose_name = "test database support (tests only)"
