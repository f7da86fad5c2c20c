from django.urls import path

from . import pages

app_name = "account-pages"

urlpatterns = [
    path("verify-email", pages.verify_email, name="verify-email"),
    path("forgot-password", pages.forgot_password, name="forgot-password"),
    path("reset-password", pages.reset_password, name="reset-password"),
]
