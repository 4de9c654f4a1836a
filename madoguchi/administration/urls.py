"""The administration pages, under /settings/: one module of URLs per area."""

from madoguchi.administration import channel_urls, people_urls, shop_urls

app_name = "administration"
urlpatterns = [*shop_urls.urlpatterns, *people_urls.urlpatterns, *channel_urls.urlpatterns]
