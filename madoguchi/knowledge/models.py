"""Knowledge: help-center articles with their revisions, the shop's knowledge settings, FAQ
candidates mined from tickets, and the improvement list (manuals, terms, product pages)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager


class Language(models.TextChoices):
    JAPANESE = "ja", _("Japanese")
    ENGLISH = "en", _("English")


class KnowledgeSettings(models.Model):
    """A shop's knowledge settings; a shop without a row has the defaults."""

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    is_help_center_enabled = models.BooleanField(_("public help center is open"), default=True)
    clients_may_edit = models.BooleanField(
        _("the shop's owner may edit and publish articles"),
        default=False,
        help_text=_("When off, the shop's owner reads the articles; the agency's leads edit them."),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"knowledge settings of shop {self.shop_id}"


class ArticleCategory(models.Model):
    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=80)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="knowledge_category_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """One article in one language; its text history is in `ArticleRevision`.

    Only a published public article reaches the help center; internal articles are manuals for
    the shop's staff. The article's search tokens live in the index tables the migrations make
    (`knowledge.index`), written by the services whenever it is published, edited or withdrawn.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public (help center)")
        INTERNAL = "internal", _("Internal (staff only)")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(
        ArticleCategory,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
        verbose_name=_("category"),
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.JAPANESE
    )
    visibility = models.CharField(
        _("visibility"), max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    revision_number = models.PositiveIntegerField(default=1)
    helpful_count = models.PositiveIntegerField(default=0)
    not_helpful_count = models.PositiveIntegerField(default=0)
    source_ticket = models.ForeignKey(
        "conversations.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(
                fields=["shop", "status", "visibility", "language"], name="knowledge_article_list"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC

    @property
    def is_on_help_center(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.is_public


class ArticleRevision(models.Model):
    """The article's text as one save left it; revision 1 is the first save."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    note = models.CharField(_("change note"), max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "number"], name="knowledge_revision_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.article_id} r{self.number}"


class FaqCandidate(models.Model):
    """A group of similar recent questions that no article answers yet.

    `signature` names the group by its tickets' ids, so a refresh finds the same group again and
    a dismissed one stays dismissed.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CONVERTED = "converted", _("Turned into an article")
        DISMISSED = "dismissed", _("Dismissed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    question = models.CharField(_("question"), max_length=255)
    keywords = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    ticket_count = models.PositiveIntegerField(default=0)
    tickets = models.ManyToManyField("conversations.Ticket", related_name="+", blank=True)
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_ticket_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "first_ticket_id"], name="knowledge_candidate_unique_group"
            )
        ]

    def __str__(self) -> str:
        return self.question


class ImprovementItem(models.Model):
    """Something outside the inbox to fix so fewer customers need to ask (a manual, the terms)."""

    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        TERMS = "terms", _("Terms")
        PRODUCT_PAGE = "product_page", _("Product page")
        SHIPPING = "shipping", _("Shipping")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        DROPPED = "dropped", _("Dropped")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    tickets = models.ManyToManyField("conversations.Ticket", related_name="+", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return self.title
