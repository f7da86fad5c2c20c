from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("register", views.RegisterView.as_view(), name="register"),
    path("verify-email", views.VerifyEmailView.as_view(), name="verify-email"),
    path(
        "verify-email/resend",
        views.ResendVerificationView.as_view(),
        name="verify-email-resend",
    ),
    path("password-reset", views.PasswordResetRequestView.as_view(), name="password-reset"),
    path(
        "password-reset/confirm",
        views.PasswordResetView.as_view(),
        name="password-reset-confirm",
    ),
    path("login", views.LoginView.as_view(), name="login"),
    path("refresh", views.RefreshView.as_view(), name="refresh"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("me", views.MeView.as_view(), name="me"),
    path("me/access-log", views.AccessLogView.as_view(), name="access-log"),
]
