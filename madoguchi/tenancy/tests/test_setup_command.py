"""`madoguchi setup`: the first workspace and admin, with flags or by questions; once only."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEntry
from madoguchi.core.testing import factories
from madoguchi.tenancy.management.commands import setup as setup_command
from madoguchi.tenancy.models import Membership, Shop, Workspace

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("setup", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text("ume-no-hana-2026\n", encoding="utf-8")
    return path


def test_flags_set_up_a_shop_company_with_its_first_shop(password_file):
    out, _ = run(
        "--workspace-name=Yamada Tea",
        "--kind=merchant",
        "--admin-email=Owner@Yamada.example",
        f"--admin-password-file={password_file}",
        "--admin-name=山田 太郎",
        "--shop-name=山田園 茶舗",
        "--shop-prefix=tea",
        "--site-url=https://support.yamada.example/",
    )
    workspace = Workspace.objects.get()
    assert (workspace.name, workspace.kind, workspace.slug) == (
        "Yamada Tea",
        "merchant",
        "yamada-tea",
    )
    admin = User.objects.get()
    assert (admin.email, admin.display_name) == ("owner@yamada.example", "山田 太郎")
    assert admin.check_password("ume-no-hana-2026")
    membership = Membership.objects.get()
    assert (membership.user, membership.workspace, membership.role) == (admin, workspace, "admin")
    shop = Shop.objects.get()
    assert (shop.workspace, shop.name, shop.ticket_prefix, shop.slug) == (
        workspace,
        "山田園 茶舗",
        "TEA",
        "tea",
    )
    assert out.splitlines() == [
        "Created the shop company Yamada Tea with its admin owner@yamada.example.",
        "Created the shop 山田園 茶舗 (tickets #TEA-1, ...).",
        "Sign in at https://support.yamada.example/accounts/login/",
    ]
    created = AuditEntry.objects.get(action="workspace.created")
    assert (created.actor, created.actor_label) == (None, "madoguchi setup")
    assert created.changes == {
        "name": [None, "Yamada Tea"],
        "kind": [None, "merchant"],
        "admin": [None, "owner@yamada.example"],
    }
    assert AuditEntry.objects.get(action="shop.created").shop == shop


def test_flags_set_up_an_agency_with_a_japanese_name(password_file, settings):
    # MADOGUCHI_SITE_URL, as the settings read it.
    settings.MADOGUCHI = {**settings.MADOGUCHI, "SITE_URL": "https://madoguchi.example.jp"}
    out, _ = run(
        "--workspace-name=窓口サポート株式会社",
        "--kind=agency",
        "--admin-email=admin@madoguchi.example",
        f"--admin-password-file={password_file}",
    )
    workspace = Workspace.objects.get()
    # No Latin letters to make a slug of: a numbered one.
    assert (workspace.name, workspace.kind, workspace.slug) == (
        "窓口サポート株式会社",
        "agency",
        "ws-1",
    )
    assert not Shop.objects.exists()
    assert User.objects.get().display_name == "admin"
    assert out.splitlines()[-1] == "Sign in at https://madoguchi.example.jp/accounts/login/"


def test_a_merchant_without_shop_flags_gets_a_shop_named_after_it(password_file):
    out, _ = run(
        "--workspace-name=青木陶房",
        "--kind=merchant",
        "--admin-email=aoki@aoki.example",
        f"--admin-password-file={password_file}",
    )
    shop = Shop.objects.get()
    assert (shop.name, shop.ticket_prefix, shop.slug) == ("青木陶房", "SHOP", "shop")
    assert out.splitlines()[-1] == "Sign in at http://127.0.0.1:8000/accounts/login/"


def test_missing_flags_are_named(password_file):
    with pytest.raises(CommandError) as refused:
        run("--workspace-name=Yamada", f"--admin-password-file={password_file}")
    assert str(refused.value) == "Missing for a setup without questions: --kind, --admin-email"
    assert not Workspace.objects.exists()


def test_a_weak_password_is_refused_by_the_validators(tmp_path):
    weak = tmp_path / "weak"
    weak.write_text("12345678\n", encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        run(
            "--workspace-name=Yamada",
            "--kind=merchant",
            "--admin-email=owner@yamada.example",
            f"--admin-password-file={weak}",
        )
    assert "This password is too common." in str(refused.value)
    assert "This password is entirely numeric." in str(refused.value)
    assert not User.objects.exists()
    assert not Workspace.objects.exists()


def test_an_agency_does_not_get_a_shop_in_setup(password_file):
    with pytest.raises(CommandError) as refused:
        run(
            "--workspace-name=Agency",
            "--kind=agency",
            "--admin-email=admin@agency.example",
            f"--admin-password-file={password_file}",
            "--shop-name=Client",
        )
    assert str(refused.value) == "An agency's client shops are created in the browser after setup."
    assert not Workspace.objects.exists()


def test_refuses_once_a_user_exists(password_file):
    factories.UserFactory(email="someone@example.jp")
    with pytest.raises(CommandError) as refused:
        run(
            "--workspace-name=Yamada",
            "--kind=merchant",
            "--admin-email=owner@yamada.example",
            f"--admin-password-file={password_file}",
        )
    assert refused.value.returncode == 1
    assert str(refused.value).startswith(
        "Madoguchi is already set up: a workspace or a user exists."
    )
    assert not Workspace.objects.exists()
    assert User.objects.count() == 1


def test_refuses_once_a_workspace_exists():
    factories.WorkspaceFactory()
    with pytest.raises(CommandError) as refused:
        run()  # even before asking anything
    assert refused.value.returncode == 1
    assert Workspace.objects.count() == 1


def test_questions_reask_after_bad_answers(monkeypatch):
    answers = iter(
        [
            "",  # company name: empty
            "山田園",
            "shopkeeper",  # kind: unknown
            "m",
            "not-an-email",
            "owner@yamada.example",
            "山田 太郎",  # display name
            "",  # first shop: the company's name
            "T",  # prefix: too short
            "",  # prefix: the suggestion
        ]
    )
    passwords = iter(
        [
            "ume-no-hana-2026",
            "ume-no-hana-2025",  # differs
            "short",
            "short",  # too short
            "ume-no-hana-2026",
            "ume-no-hana-2026",
        ]
    )
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr(setup_command.getpass, "getpass", lambda prompt="": next(passwords))

    out, err = run()

    assert err.splitlines() == [
        "Enter a name.",
        "Answer agency or merchant.",
        "Enter a valid email address.",
        "The passwords differ; try again.",
        "This password is too short. It must contain at least 8 characters.",
        "A ticket prefix is 2 to 10 capital letters or digits (A-Z, 0-9).",
    ]
    workspace = Workspace.objects.get()
    assert (workspace.name, workspace.kind) == ("山田園", "merchant")
    admin = User.objects.get()
    assert (admin.email, admin.display_name) == ("owner@yamada.example", "山田 太郎")
    assert admin.check_password("ume-no-hana-2026")
    shop = Shop.objects.get()
    assert (shop.name, shop.ticket_prefix) == ("山田園", "SHOP")
    assert out.splitlines()[-1] == "Sign in at http://127.0.0.1:8000/accounts/login/"


def test_questions_for_an_agency_ask_no_shop(monkeypatch):
    answers = iter(["Madoguchi Support", "agency", "admin@support.example", ""])
    passwords = iter(["ume-no-hana-2026", "ume-no-hana-2026"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr(setup_command.getpass, "getpass", lambda prompt="": next(passwords))

    out, _ = run("--site-url=http://localhost:9000")

    workspace = Workspace.objects.get()
    assert (workspace.kind, workspace.slug) == ("agency", "madoguchi-support")
    assert not Shop.objects.exists()
    assert out.splitlines()[-2:] == [
        "Add client shops in the browser: Workspace > Workspace & shops.",
        "Sign in at http://localhost:9000/accounts/login/",
    ]


def test_end_of_input_cancels_without_creating(monkeypatch):
    def no_more(prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", no_more)
    with pytest.raises(CommandError) as refused:
        run()
    assert str(refused.value) == "Setup cancelled; nothing was created."
    assert not Workspace.objects.exists()
