"""Paths under /.well-known/: the public keys that verify our tokens."""

from django.urls import path

from .views import JwksView

urlpatterns = [path("jwks.json", JwksView.as_view(), name="jwks")]
