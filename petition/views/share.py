"""Reach: the rally in calendars, share links and meta tags, the embeddable counter, and
which public responses caches may keep."""

from functools import wraps
from urllib.parse import quote, urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from ..calendar import rally_calendar
from ..models import Petition
from ..queries import public_counts
from ..security import allow_framing
from . import petition_or_404

bp = Blueprint("share", __name__)

# Caches may keep a public response this long, then serve it stale this much longer while
# they fetch a fresh one in the background: a viral call's readers mostly hit the cache.
PUBLIC_MAX_AGE = 30
STALE_WHILE_REVALIDATE = 300


def _rendered_for_this_visitor() -> bool:
    """Whether the response carries something of this visitor's: an organizer's menu, a
    flashed message (popping it modifies the session) or a form's CSRF token."""
    return "_user_id" in session or session.modified or g.get("csrf_token") is not None


def shared_cache(view):
    """Let any cache keep the view's response a while, unless it was rendered for this visitor
    alone: then no cache may keep it."""

    @wraps(view)
    def cacheable(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        if _rendered_for_this_visitor():
            response.cache_control.private = True
            response.cache_control.no_store = True
        else:
            response.cache_control.public = True
            response.cache_control.max_age = PUBLIC_MAX_AGE
            response.cache_control.stale_while_revalidate = STALE_WHILE_REVALIDATE
        # A browser that cached the page before a flash (signature confirmed) or a login must
        # not show that copy again: the session cookie changed, so the cached copy misses.
        response.vary.add("Cookie")
        return response

    return cacheable


@bp.get("/p/<slug:slug>/rally.ics")
@shared_cache
def rally_ics(slug: str):
    """The call's rally as an iCalendar file; 404 when the call has no rally."""
    petition = petition_or_404(slug)
    if petition.event_starts_at is None:
        abort(404)
    page_url = url_for("public.petition", slug=petition.slug, _external=True)
    host = current_app.config.get("SERVER_NAME") or request.host
    body = rally_calendar(petition, page_url=page_url, host=host.partition(":")[0])
    response = make_response(body)
    response.mimetype = "text/calendar"
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{petition.slug}-rally.ics"'
    return response


@bp.get("/p/<slug:slug>/embed")
@shared_cache
def embed(slug: str):
    """A small counter other sites may show in an iframe."""
    petition = petition_or_404(slug)
    response = make_response(
        render_template("public/embed.html", petition=petition, counts=public_counts(petition))
    )
    return allow_framing(response)


@bp.app_template_global()
def share_links(petition: Petition) -> list[tuple[str, str]]:
    """(name, address) of plain links that share the call: no other site's script runs here."""
    url = url_for("public.petition", slug=petition.slug, _external=True)
    text = petition.title

    def query(**params: str) -> str:
        return urlencode(params, quote_via=quote)

    mail_body = "\n\n".join(part for part in (petition.summary, url) if part)
    return [
        (_("E-mail"), f"mailto:?{query(subject=text, body=mail_body)}"),
        ("WhatsApp", f"https://wa.me/?{query(text=f'{text} {url}')}"),
        ("Telegram", f"https://t.me/share/url?{query(url=url, text=text)}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?{query(u=url)}"),
        ("X", f"https://twitter.com/intent/tweet?{query(url=url, text=text)}"),
        ("Bluesky", f"https://bsky.app/intent/compose?{query(text=f'{text} {url}')}"),
    ]


@bp.app_template_global()
def map_url(petition: Petition) -> str:
    """The rally's place searched on OpenStreetMap."""
    where = petition.event_address or petition.event_place or ""
    return f"https://www.openstreetmap.org/search?{urlencode({'query': where}, quote_via=quote)}"


@bp.app_template_global()
def share_image_url() -> str:
    """The image link previews show: SHARE_IMAGE_URL, or the default one (1200x630)."""
    return current_app.config.get("SHARE_IMAGE_URL") or url_for(
        "static", filename="img/share.png", _external=True
    )
