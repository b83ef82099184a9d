"""Sign-in. Every other page needs a signed-in user (LoginRequiredMiddleware, settings/base.py)."""

from django.contrib.auth.views import LoginView
from django.shortcuts import render


class SignInView(LoginView):
    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        if request.htmx:
            # A live update after the session expired was redirected here. Swapping the sign-in page
            # into the result panel would be confusing, and a full redirect would lose what is typed:
            # say so in the panel and keep the inputs as they are.
            return render(request, "registration/login.html#session-expired", {"login_url": request.path})
        return super().get(request, *args, **kwargs)
