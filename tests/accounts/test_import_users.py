"""Predecessor users imported with their bcrypt hashes sign in and are re-hashed."""

import bcrypt
import pytest
from django.contrib.auth.hashers import get_hasher
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

OLD_PASSWORD = "old predecessor passphrase"
HEADER = "email,name,password_hash,is_staff,created_at\n"


@pytest.fixture(autouse=True)
def bcrypt_accepted(settings):
    # The test settings hash with MD5 only; bcrypt goes behind it, as in base.py.
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS,
                                 "django.contrib.auth.hashers.BCryptPasswordHasher"]


def bcrypt_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def write_csv(tmp_path, *lines: str):
    path = tmp_path / "users.csv"
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    return str(path)


def test_base_settings_keep_the_default_first_and_accept_plain_bcrypt():
    from config.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert "django.contrib.auth.hashers.BCryptPasswordHasher" in base.PASSWORD_HASHERS[1:]


def test_imported_user_signs_in_with_old_password_and_is_rehashed(tmp_path, anon_client):
    path = write_csv(tmp_path,
                     f"Ada.L@Example.com,Ada Lovelace,{bcrypt_hash(OLD_PASSWORD)},false,"
                     f"2023-05-01T09:30:00")
    call_command("import_users", path)
    user = User.objects.get(email="ada.l@example.com")
    assert user.password.startswith("bcrypt$$2b$04$")
    assert (user.first_name, user.last_name, user.is_staff) == ("Ada", "Lovelace", False)
    assert user.date_joined.isoformat() == "2023-05-01T09:30:00+00:00"
    assert mail.outbox == []

    wrong = anon_client.post(reverse("auth-login"), {"email": user.email, "password": "nope"},
                             format="json")
    assert wrong.status_code != 200
    response = anon_client.post(reverse("auth-login"),
                                {"email": user.email, "password": OLD_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.password.startswith(get_hasher().algorithm + "$")
    assert user.check_password(OLD_PASSWORD)


def test_bad_lines_are_reported_by_number_and_nothing_is_loaded(tmp_path):
    good = bcrypt_hash(OLD_PASSWORD)
    path = write_csv(tmp_path,
                     f"good@example.com,Good One,{good},true,2023-01-01",
                     f"not-an-email,Bad Email,{good},false,2023-01-01",
                     "hash@example.com,Bad Hash,plaintext,false,2023-01-01",
                     f"date@example.com,Bad Date,{good},false,yesterday",
                     f"GOOD@example.com,Twice,{good},false,2023-01-01")
    with pytest.raises(CommandError, match="4 bad line"):
        call_command("import_users", path)
    assert not User.objects.exists()


def test_bad_lines_are_printed_with_their_numbers(tmp_path, capsys):
    path = write_csv(tmp_path, f"ok@example.com,Ok,{bcrypt_hash('x')},false,2023-01-01",
                     "hash@example.com,Bad Hash,plaintext,false,2023-01-01")
    with pytest.raises(CommandError):
        call_command("import_users", path)
    assert "line 3: unknown password hash format" in capsys.readouterr().err
    assert not User.objects.filter(email="ok@example.com").exists()


def test_reimport_is_idempotent_and_never_overwrites(tmp_path, capsys):
    path = write_csv(tmp_path, f"a@example.com,A,{bcrypt_hash(OLD_PASSWORD)},false,2023-01-01",
                     f"b@example.com,B,{bcrypt_hash(OLD_PASSWORD)},true,2023-01-01")
    call_command("import_users", path)
    user = User.objects.get(email="a@example.com")
    user.set_password("changed since import")
    user.save()
    call_command("import_users", path)
    assert "Imported 0 user(s); skipped 2 existing." in capsys.readouterr().out
    assert User.objects.count() == 2
    user.refresh_from_db()
    assert user.check_password("changed since import")


def test_send_welcome_emails_new_users_only(tmp_path):
    User.objects.create_user(email="old@example.com", password="x-long-password-1")
    path = write_csv(tmp_path, f"old@example.com,Old,{bcrypt_hash('x')},false,2023-01-01",
                     f"new@example.com,New,{bcrypt_hash('x')},false,2023-01-01")
    call_command("import_users", path, "--send-welcome")
    assert [message.to for message in mail.outbox] == [["new@example.com"]]
