import pytest
from django.test import override_settings

from madoguchi.connectors.chat.models import ChatWidget
from madoguchi.tenancy.scoping import unscoped

ORIGIN = "https://shop.yamada-en.example"


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    if request.node.get_closest_marker("browser"):
        yield  # the browser tests' server process has a database of its own
        return
    # The rate-limit counters are in the database cache (shared by every process).
    request.getfixturevalue("db")
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_layer():
    # A fresh in-memory channel layer per test (groups never leak from one test to the next).
    with override_settings(
        CHANNEL_LAYERS={
            "default": {"BACKEND": "madoguchi.core.channel_layers.InProcessChannelLayer"}
        }
    ):
        yield


@pytest.fixture
def widget(world) -> ChatWidget:
    with unscoped("test setup"):
        return ChatWidget.objects.create(
            shop=world.tea,
            public_key="tea-chat-key",
            allowed_origins=f"{ORIGIN}\n",
            identity_secret="s3cret",
            follows_business_hours=False,
        )


@pytest.fixture
def ceramics_widget(world) -> ChatWidget:
    with unscoped("test setup"):
        return ChatWidget.objects.create(
            shop=world.ceramics,
            public_key="ceramics-chat-key",
            allowed_origins="https://aoki.example\n",
            follows_business_hours=False,
        )
