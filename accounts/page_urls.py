from django.urls import path

from .pages import details, links, register, session

app_name = "account-pages"

# The links in account emails name the /account/ paths (accounts.emails).
urlpatterns = [
    path("sign-in", session.sign_in, name="sign-in"),
    path("sign-out", session.sign_out, name="sign-out"),
    path("register", register.register, name="register"),
    path("register/check-email", register.check_email, name="check-email"),
    path("my-details", details.my_details, name="my-details"),
    path("my-details/change", details.change_details, name="change-details"),
    path("my-details/access-log", details.access_log, name="access-log"),
    path("account/verify-email", links.verify_email, name="verify-email"),
    path("account/forgot-password", links.forgot_password, name="forgot-password"),
    path("account/resend-link", links.resend_link, name="resend-link"),
    path("account/reset-password", links.reset_password, name="reset-password"),
]
