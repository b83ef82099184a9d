"""Create a clinician account in a care team. The password is typed at a prompt, never passed or defaulted.

    python manage.py create_clinician                      # prompts for everything, names included
    python manage.py create_clinician --username alice --team "Leukemia A" --first-name Alice \
        --last-name Smith [--staff]

The first and last name are printed on every consult and its PDF (the signing clinician); without them
the username is shown instead. Run without --username, the command asks for them too.

--staff also gives read-only access to the admin (saved consults, knowledge base), and lets staff lift a
colleague's sign-in pause (admin › Access attempts). The password must pass
the project's validators (AUTH_PASSWORD_VALIDATORS: at least 12 characters, not common, not all digits).
"""

from __future__ import annotations

import getpass

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

STAFF_PERMISSIONS = (("aml_salvage", "view_consult"), ("aml_salvage", "view_knowledgebaseentry"),
                     # lift a sign-in pause for a colleague (admin › Access attempts; the lockout page says so)
                     ("axes", "view_accessattempt"), ("axes", "delete_accessattempt"))
MAX_PASSWORD_ATTEMPTS = 3


MSG_USERNAME_REQUIRED = "username: a username is required"
MSG_USERNAME_INVALID = "username {username!r} refused: {reason}"
MSG_USERNAME_TAKEN = "username {username!r} refused: user {existing!r} already exists (usernames ignore case)"


def username_checked(username: str) -> str:
    """The username as Django's own forms accept it: normalised (NFKC), within the model field's length,
    letters, digits and @ . + - _ only (UnicodeUsernameValidator), and unique regardless of case."""
    User = get_user_model()
    if not username:
        raise CommandError(MSG_USERNAME_REQUIRED)
    username = User.normalize_username(username)
    try:
        User._meta.get_field(User.USERNAME_FIELD).clean(username, None)
    except ValidationError as exc:
        raise CommandError(MSG_USERNAME_INVALID.format(username=username, reason=" ".join(exc.messages))) from None
    existing = User._default_manager.filter(**{f"{User.USERNAME_FIELD}__iexact": username}).first()
    if existing is not None:
        raise CommandError(MSG_USERNAME_TAKEN.format(username=username, existing=existing.get_username()))
    return username


class Command(BaseCommand):
    help = "Create a clinician account in a care team (prompts for the password; there is no default)."

    def add_arguments(self, parser):
        parser.add_argument("--username", help="sign-in name (prompted if omitted)")
        parser.add_argument("--team", help="care team (a group; created if new; prompted if omitted)")
        parser.add_argument("--first-name", help="shown on consults and PDFs (prompted when --username is omitted)")
        parser.add_argument("--last-name", help="shown on consults and PDFs (prompted when --username is omitted)")
        parser.add_argument("--email", default="")
        parser.add_argument("--staff", action="store_true",
                            help="read-only admin access to saved consults and the knowledge base")

    def _ask_optional(self, label: str) -> str:
        try:
            return input(f"{label}: ").strip()
        except EOFError:
            return ""

    def _ask(self, label: str) -> str:
        try:
            return input(f"{label}: ").strip()
        except EOFError:
            raise CommandError(f"{label} is required (no terminal to prompt on; pass it as an option)") from None

    def _password(self, user) -> str:
        for _attempt in range(MAX_PASSWORD_ATTEMPTS):
            try:
                password = getpass.getpass("Password: ")
                again = getpass.getpass("Password (again): ")
            except EOFError:
                raise CommandError("a password must be typed at the prompt; none is accepted otherwise") from None
            if not password:
                self.stderr.write("The password cannot be empty.")
                continue
            if password != again:
                self.stderr.write("The passwords do not match.")
                continue
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                for message in exc.messages:
                    self.stderr.write(f"Password refused: {message}")
                continue
            return password
        raise CommandError("no acceptable password after 3 attempts; nothing was created")

    def handle(self, *args, **options):
        User = get_user_model()
        interactive = options["username"] is None
        username = username_checked((options["username"] or self._ask("Username")).strip())
        team_name = (options["team"] or self._ask("Care team")).strip()
        if not team_name:
            raise CommandError("a care team is required: consults are shared within a team")

        first_name, last_name = options["first_name"], options["last_name"]
        if first_name is None and interactive:
            first_name = self._ask_optional("First name (printed on consults)")
        if last_name is None and interactive:
            last_name = self._ask_optional("Last name (printed on consults)")
        first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
        if not (first_name or last_name):
            self.stderr.write(f"No first or last name: consults and PDFs will show the username {username!r}.")
        user = User(username=username, first_name=first_name, last_name=last_name,
                    email=options["email"], is_staff=options["staff"])
        password = self._password(user)
        with transaction.atomic():
            user.set_password(password)
            user.save()
            team, created = Group.objects.get_or_create(name=team_name)
            user.groups.add(team)
            if options["staff"]:
                for app_label, codename in STAFF_PERMISSIONS:
                    user.user_permissions.add(
                        Permission.objects.get(content_type__app_label=app_label, codename=codename)
                    )
        made = "new care team" if created else "care team"
        role = " with read-only admin access" if options["staff"] else ""
        self.stdout.write(self.style.SUCCESS(f"Created {username}{role} in {made} {team_name!r}."))
