"""The 入金確認 page while matching runs (issue #13: it said 確認待ちはありません while the
reconciler had not decided the imported deposits yet)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from madoguchi.commerce.banking import zengin
from madoguchi.commerce.deposits import (
    MatchingProgress,
    deposit_matching_progress,
    deposits_reconcile,
)
from madoguchi.commerce.models import Deposit
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.tenancy.scoping import in_shop

TODAY = timezone.localdate()
REVIEW = "/commerce/tea/deposits/review/"
POLLING = 'hx-trigger="every 2s" hx-select="#review-body"'


@pytest.fixture
def imported(client, world):
    """Two deposits imported through the page; the reconciler (after commit) has not run."""
    with in_shop(world.tea.id):
        make_order(world.tea, 10001, 5400, kana="ヤマダ タロウ", day=TODAY - dt.timedelta(days=10))
        make_order(world.tea, 10002, 3000, kana="スズキ ハナコ", day=TODAY - dt.timedelta(days=3))
    data = zengin.build(
        created_on=TODAY,
        transfers=[
            zengin.TransferToWrite("1", TODAY, 5400, "ﾔﾏﾀﾞ ﾀﾛｳ"),
            zengin.TransferToWrite("2", TODAY, 1500, "ｽｽﾞｷ ﾊﾅｺ"),
        ],
        line_end=b"\r\n",
    )
    client.force_login(world.operator_tea)
    response = client.post(
        "/commerce/tea/deposits/import/",
        {"format": "zengin", "file": SimpleUploadedFile("nyukin.txt", data)},
    )
    assert response.status_code == 302
    return client


def test_progress_counts_the_deposits_still_waiting(world, imported):
    with in_shop(world.tea.id):
        assert deposit_matching_progress(shop=world.tea) == MatchingProgress(waiting=2, total=2)
        first = Deposit.objects.order_by("id").first()
        deposits_reconcile(shop=world.tea, deposit_ids=[first.id])
        progress = deposit_matching_progress(shop=world.tea)
        assert (progress.waiting, progress.done, progress.total) == (1, 1, 2)
        assert progress.is_running is True
        deposits_reconcile(shop=world.tea)
        assert deposit_matching_progress(shop=world.tea) == MatchingProgress(waiting=0, total=0)
        assert deposit_matching_progress(shop=world.tea).is_running is False


def test_the_page_shows_matching_and_polls_until_it_is_done(world, imported):
    page = imported.get(REVIEW).content.decode()
    assert "入金と注文を照合しています：2 件中 0 件完了（残り 2 件）。" in page
    assert POLLING in page
    assert "確認待ちはありません。" not in page

    with in_shop(world.tea.id):
        first = Deposit.objects.order_by("id").first()
        deposits_reconcile(shop=world.tea, deposit_ids=[first.id])
    page = imported.get(REVIEW, HTTP_HX_REQUEST="true").content.decode()
    assert "2 件中 1 件完了（残り 1 件）" in page
    assert POLLING in page

    with in_shop(world.tea.id):
        deposits_reconcile(shop=world.tea)
    page = imported.get(REVIEW).content.decode()
    assert 'data-testid="matching-progress"' not in page
    assert POLLING not in page
    assert "ｽｽﾞｷ ﾊﾅｺ" in page  # the partial payment now waits for a person
    assert "確認待ちはありません。" not in page


def test_nothing_to_review_once_matching_has_decided_everything(world, client):
    client.force_login(world.operator_tea)
    page = client.get(REVIEW).content.decode()
    assert '<p data-testid="nothing-to-review">確認待ちはありません。</p>' in page
    assert POLLING not in page


def test_the_review_page_of_another_shop_is_404(world, imported):
    imported.force_login(world.operator_ceramics)
    assert imported.get(REVIEW).status_code == 404
    with in_shop(world.ceramics.id):
        assert deposit_matching_progress(shop=world.ceramics) == MatchingProgress(0, 0)
