from .base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins only
# Test teardown after live-server (transactional) tests empties every table; the immutability triggers let
# that through only with this flag. The trigger tests switch it off to prove they refuse.
AML_SALVAGE_ALLOW_RECORD_DELETION = True
