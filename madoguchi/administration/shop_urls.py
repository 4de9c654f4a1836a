"""URLs of the workspace, shop, engagement, invitation and category pages."""

from django.urls import URLPattern, path

from madoguchi.administration import shop_views, taxonomy_views

urlpatterns: list[URLPattern] = [
    path("workspace/", shop_views.workspace, name="workspace"),
    path("workspace/accept/", shop_views.engagement_accept, name="engagement_accept"),
    path("workspace/<int:workspace_id>/", shop_views.workspace_edit, name="workspace_edit"),
    path("workspace/<int:workspace_id>/new-shop/", shop_views.shop_new, name="shop_new"),
    path("shops/<slug:shop_slug>/", shop_views.shop_edit, name="shop_edit"),
    path("shops/<slug:shop_slug>/archive/", shop_views.shop_archive, name="shop_archive"),
    path("shops/<slug:shop_slug>/unarchive/", shop_views.shop_unarchive, name="shop_unarchive"),
    path("shops/<slug:shop_slug>/owner/invite/", shop_views.owner_invite, name="owner_invite"),
    path(
        "shops/<slug:shop_slug>/engagements/invite/",
        shop_views.engagement_invite,
        name="engagement_invite",
    ),
    path(
        "shops/<slug:shop_slug>/engagements/invitations/<int:invitation_id>/cancel/",
        shop_views.invitation_cancel,
        name="invitation_cancel",
    ),
    path(
        "shops/<slug:shop_slug>/engagements/<int:engagement_id>/",
        shop_views.engagement_edit,
        name="engagement_edit",
    ),
    path(
        "shops/<slug:shop_slug>/engagements/<int:engagement_id>/end/",
        shop_views.engagement_end,
        name="engagement_end",
    ),
    path("shops/<slug:shop_slug>/categories/", taxonomy_views.taxonomy_page, name="taxonomy"),
]
