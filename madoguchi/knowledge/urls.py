from django.urls import path

from madoguchi.knowledge import public_views, views

app_name = "knowledge"

_SHOP = "shops/<slug:shop_slug>/knowledge/"
_ARTICLE = _SHOP + "articles/<int:article_id>/"
_HELP = "help/<slug:shop_slug>/"

urlpatterns = [
    path(_SHOP + "articles/", views.articles, name="articles"),
    path(_SHOP + "articles/new/", views.article_new, name="article_new"),
    path(_ARTICLE, views.article, name="article"),
    path(_ARTICLE + "edit/", views.article_edit, name="article_edit"),
    path(_ARTICLE + "publish/", views.article_publish_view, name="article_publish"),
    path(_ARTICLE + "archive/", views.article_archive_view, name="article_archive"),
    path(_ARTICLE + "revisions/<int:number>/", views.revision, name="revision"),
    path(_SHOP + "settings/", views.settings, name="settings"),
    path(_SHOP + "settings/categories/", views.category_create, name="category_create"),
    path(_SHOP + "candidates/", views.candidates, name="candidates"),
    path(_SHOP + "candidates/refresh/", views.candidates_refresh, name="candidates_refresh"),
    path(
        _SHOP + "candidates/<int:candidate_id>/convert/",
        views.candidate_convert_view,
        name="candidate_convert",
    ),
    path(
        _SHOP + "candidates/<int:candidate_id>/dismiss/",
        views.candidate_dismiss_view,
        name="candidate_dismiss",
    ),
    path(_SHOP + "improvements/", views.improvements, name="improvements"),
    path(_SHOP + "improvements/<int:item_id>/", views.improvement_edit, name="improvement_edit"),
    path(_SHOP + "composer/search/", views.composer_search, name="composer_search"),
    path(
        _SHOP + "replies/<int:message_id>/draft/",
        views.article_from_reply,
        name="article_from_reply",
    ),
    path(_HELP, public_views.home, name="help"),
    path(_HELP + "search/", public_views.search, name="help_search"),
    path(_HELP + "articles/<int:article_id>/", public_views.article, name="help_article"),
    path(_HELP + "articles/<int:article_id>/vote/", public_views.vote, name="help_vote"),
    path(_HELP + "sitemap.xml", public_views.sitemap, name="help_sitemap"),
    path(_HELP + "suggest/", public_views.suggest, name="help_suggest"),
    path(_HELP + "suggest/events/", public_views.suggestion_event, name="help_suggestion_event"),
]
