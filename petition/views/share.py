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
from flask_babel import get_locale
from flask_babel import gettext as _

from ..calendar import rally_calendar
from ..languages import is_language
from ..models import Petition
from ..queries import call_snapshot, keep, public_counts, recall
from ..security import allow_framing
from ..share_image import HEIGHT, WIDTH, share_image, share_languages
from ..switches import signing_pause_notice
from . import CONTENT_LANGUAGE, keep_lang, petition_or_404, reader_call_text

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


def kept_for_visitors_without_session(view):
    """Serve a call's page to visitors without a session as this process last rendered it for
    one, for COUNTS_CACHE_SECONDS: a viral call's readers share one render per process.

    Put under `shared_cache`: headers are made afresh for every response. Never for a visitor
    with a session (an organizer, a flashed message, a form's token), and a copy serves only
    while the call and the pause switch are those it was rendered with: a page is never older
    than what the signing form sees. Confirming a signature drops it (forget_counts).
    """

    @wraps(view)
    def kept(slug: str):
        key = _page_key(slug)
        if key is None:
            return view(slug)
        state = (call_snapshot(slug), signing_pause_notice())
        copy = recall(key)
        if copy is not None and copy[0] is state[0] and copy[1] == state[1]:
            return copy[2]
        page = view(slug)
        if state[0] is not None and isinstance(page, str) and not _rendered_for_this_visitor():
            keep(key, current_app.config["COUNTS_CACHE_SECONDS"], (*state, page))
        return page

    return kept


def _page_key(slug: str) -> tuple | None:
    """What a call's page depends on besides the data: its address (the host, the query string
    in the language switcher's links) and the languages (the interface's and, through
    ?lang=, the call's). None: a page that is not kept (a session; any other query, such as
    a share's tracking tag, would give every visitor a copy of their own)."""
    language = request.args.get(CONTENT_LANGUAGE)
    if language is None:
        plain = request.query_string == b""
    else:
        plain = request.query_string == f"{CONTENT_LANGUAGE}={language}".encode()
        plain = plain and is_language(language)
    if session or not plain:
        return None
    return ("page", slug, request.host_url, str(get_locale() or ""), language)


@bp.get("/p/<slug:slug>/rally.ics")
@shared_cache
def rally_ics(slug: str):
    """The call's rally as an iCalendar file; 404 when the call has no rally."""
    petition = petition_or_404(slug)
    if petition.event_starts_at is None:
        abort(404)
    text = reader_call_text(petition)
    page_url = url_for("public.petition", slug=petition.slug, lang=keep_lang(text), _external=True)
    host = current_app.config.get("SERVER_NAME") or request.host
    body = rally_calendar(petition, text, page_url=page_url, host=host.partition(":")[0])
    response = make_response(body)
    response.mimetype = "text/calendar"
    response.charset = "utf-8"
    response.vary.add("Accept-Language")  # the call's words are in the reader's language
    response.headers["Content-Disposition"] = f'attachment; filename="{petition.slug}-rally.ics"'
    return response


@bp.get("/p/<slug:slug>/share.png")
@shared_cache
def share_png(slug: str):
    """The call's image for link previews, in ?lang= (else the call's own language)."""
    petition = petition_or_404(slug)
    language = request.args.get("lang", petition.language)
    if language not in share_languages(petition):
        abort(404)
    image = share_image(petition, language)
    response = make_response(image.png)
    response.mimetype = "image/png"
    response.set_etag(image.etag)
    return response.make_conditional(request)


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
    """(name, address) of plain links that share the call: no other site's script runs here.

    They share the call in the reader's language, and keep a ?lang= that chose it.
    """
    call = reader_call_text(petition)
    url = url_for("public.petition", slug=petition.slug, lang=keep_lang(call), _external=True)
    text = call.title

    def query(**params: str) -> str:
        return urlencode(params, quote_via=quote)

    mail_body = "\n\n".join(part for part in (call.summary, url) if part)
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
def preview_image(petition: Petition) -> dict[str, str | int | None]:
    """The image link previews show: SHARE_IMAGE_URL for every call when it is set (its size
    unknown), else the call's own image in the language of the page."""
    if configured := current_app.config.get("SHARE_IMAGE_URL"):
        return {"url": configured, "width": None, "height": None}
    # The page's language, or the call's language that its ?lang= chose.
    language = keep_lang(reader_call_text(petition)) or str(get_locale() or petition.language)
    url = url_for("share.share_png", slug=petition.slug, lang=language, _external=True)
    return {"url": url, "width": WIDTH, "height": HEIGHT}
