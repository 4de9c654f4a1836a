from django.http import HttpRequest, HttpResponse


def search_results(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
