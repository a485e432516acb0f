"""The share image drawn per call (/p/<slug>/share.png): what link previews show."""

from datetime import UTC, datetime
from io import BytesIO

import pytest
from PIL import Image

from petition import share_image
from petition.extensions import db
from petition.models import TITLE_MAX, PetitionStatus
from petition.petitions import TranslationContent

from .test_reach import PUBLIC, meta


def png(client, slug: str, lang: str | None = None, **headers) -> Image.Image:
    """The share image as Pillow reads it, after checking the response."""
    query = f"?lang={lang}" if lang else ""
    response = client.get(f"/p/{slug}/share.png{query}", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(BytesIO(response.data))
    image.load()
    assert image.format == "PNG"
    assert image.size == (1200, 630)
    return image


def pixels(client, slug: str, lang: str | None = None) -> bytes:
    return png(client, slug, lang).tobytes()


@pytest.fixture
def fresh_drawings():
    """Each test draws its own images: none kept from another test's app."""
    share_image.draw_share_card.cache_clear()
    yield
    share_image.draw_share_card.cache_clear()


pytestmark = pytest.mark.usefixtures("fresh_drawings")


# --- The image --------------------------------------------------------------------------


def test_the_image_is_a_1200_by_630_png_with_public_caching(client, petition):
    response = client.get(f"/p/{petition.slug}/share.png?lang=en")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == PUBLIC
    assert "Set-Cookie" not in response.headers
    png(client, petition.slug, "en")


def test_two_calls_with_different_titles_have_different_images(client, make_petition):
    first = make_petition(title="Open the borders")
    second = make_petition(title="Close the camps")
    assert pixels(client, first.slug, "en") != pixels(client, second.slug, "en")


def test_each_language_has_its_own_image(client, petition):
    """The site name, the rally's date and the action are in the image's language."""
    images = {lang: pixels(client, petition.slug, lang) for lang in ("en", "fr", "ar")}
    assert len(set(images.values())) == 3


def french(title: str = "Ouvrez les frontières") -> list[TranslationContent]:
    return [TranslationContent(language="fr", title=title, summary="Un appel.")]


def test_the_title_is_drawn_in_the_language_when_the_call_has_it(client, make_petition):
    translated = make_petition(translations=french())
    untranslated = make_petition()
    # Only the title differs between the two calls, and only in French.
    assert pixels(client, translated.slug, "en") == pixels(client, untranslated.slug, "en")
    assert pixels(client, translated.slug, "fr") != pixels(client, untranslated.slug, "fr")
    assert share_image.share_card(translated, "fr").title == "Ouvrez les frontières"
    # No Arabic translation: the Arabic card shows the call's own title.
    assert share_image.share_card(translated, "ar").title == "Open the borders"


def test_a_translation_change_draws_a_new_image(client, make_petition):
    petition = make_petition(translations=french())
    before = client.get(f"/p/{petition.slug}/share.png?lang=fr")
    make_petition(slug=petition.slug, translations=french("Ouvrez grand les frontières"))
    after = client.get(f"/p/{petition.slug}/share.png?lang=fr")
    assert after.headers["ETag"] != before.headers["ETag"]


def test_the_calls_own_languages_can_be_asked_for(client, make_petition):
    german = [TranslationContent(language="de", title="Öffnet die Grenzen")]
    petition = make_petition(translations=german)
    png(client, petition.slug, "de")
    assert client.get(f"/p/{make_petition().slug}/share.png?lang=de").status_code == 404


def test_without_lang_the_image_is_in_the_calls_own_language(client, petition):
    assert petition.language == "en"
    assert pixels(client, petition.slug) == pixels(client, petition.slug, "en")


def test_unknown_call_or_language_is_a_404(client, petition):
    assert client.get("/p/no-such-call/share.png").status_code == 404
    response = client.get(f"/p/{petition.slug}/share.png?lang=xx")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_etag_and_conditional_get(client, petition):
    url = f"/p/{petition.slug}/share.png?lang=en"
    first = client.get(url)
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["Cache-Control"] == PUBLIC
    assert again.headers["ETag"] == etag
    # Another language is another image, with its own tag.
    assert client.get(f"/p/{petition.slug}/share.png?lang=fr").headers["ETag"] != etag

    petition.title = "Open the borders, now"
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.data != first.data


def test_the_drawing_is_kept_per_process(client, petition):
    url = f"/p/{petition.slug}/share.png?lang=fr"
    client.get(url)
    drawn = share_image.draw_share_card.cache_info()
    client.get(url)
    again = share_image.draw_share_card.cache_info()
    assert (again.misses, again.hits) == (drawn.misses, drawn.hits + 1)


def test_a_closed_and_a_purged_call_still_have_an_image(client, make_petition):
    open_call = make_petition(title="Same title")
    closed = make_petition(title="Same title", status=PetitionStatus.CLOSED)
    # The open call's image asks to sign, the closed one's to read.
    assert pixels(client, open_call.slug, "en") != pixels(client, closed.slug, "en")
    closed.purged_at = datetime(2031, 1, 1, tzinfo=UTC)
    db.session.commit()
    png(client, closed.slug, "ar")


# --- What the image says ------------------------------------------------------------------


def test_the_rally_is_written_in_the_images_language_and_its_own_time_zone(app, petition):
    french = share_image.share_card(petition, "fr")
    assert french.rally_label == "Rassemblement"
    assert "lundi 14 octobre 2030" in french.rally_when
    assert "16:00" in french.rally_when  # 14:00 UTC is 16:00 in Paris that day
    assert french.rally_where == "Place d’Armes"
    assert french.action == "Signer l'appel"
    assert not french.right_to_left
    arabic = share_image.share_card(petition, "ar")
    assert "أكتوبر" in arabic.rally_when
    assert arabic.right_to_left
    assert arabic.site_name == "النداءات والعرائض"


def test_site_name_comes_from_the_setting(app, petition):
    app.config["SITE_NAME"] = "Migrant Solidarity"
    assert share_image.share_card(petition, "fr").site_name == "Migrant Solidarity"


def test_a_past_rally_says_it_took_place(app, make_petition):
    petition = make_petition(event_starts_at=datetime(2020, 3, 1, 12, 0, tzinfo=UTC))
    assert share_image.share_card(petition, "en").rally_label == "The rally took place"


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "Borders " * (TITLE_MAX // 8)},
        {"title": "x" * TITLE_MAX},  # one word wider than the image
        {"title": "https://example.org/" + "a" * 150},
        {"summary": ""},
        {"event_starts_at": None, "event_timezone": None, "event_place": None},
        {"event_place": "P" * 200},
        {"title": "ትግርኛ ✊🏽 👩‍👩‍👧 \u202etxet\u202c \x07?"},
        {"title": "Free\nmovement\tfor all"},
    ],
)
def test_the_drawing_never_fails(client, make_petition, fields):
    petition = make_petition(**fields)
    for lang in ("en", "fr", "ar"):
        png(client, petition.slug, lang)


def test_characters_outside_the_font_are_left_out_not_drawn_as_boxes(client, make_petition):
    plain = make_petition(title="Freedom for all")
    emoji = make_petition(title="Freedom 🚀 for all")  # no rocket in DejaVu Sans Bold
    tigrinya = make_petition(title="Freedom ትግርኛ for all")  # no Ethiopic either
    expected = pixels(client, plain.slug, "en")
    assert pixels(client, emoji.slug, "en") == expected
    assert pixels(client, tigrinya.slug, "en") == expected
    # A character the font has is drawn.
    drawn = make_petition(title="Freedom € for all")
    assert pixels(client, drawn.slug, "en") != expected


def test_without_raqm_arabic_is_never_drawn_broken(client, make_petition, monkeypatch):
    """Pillow without raqm cannot join Arabic letters: the card falls back to a left-to-right
    language of the call, or to the site's default image."""
    monkeypatch.setattr(share_image, "SHAPING", False)
    english = make_petition(title="Open the borders")
    assert pixels(client, english.slug, "ar") == pixels(client, english.slug, "en")
    arabic = make_petition(title="افتحوا الحدود")
    response = client.get(f"/p/{arabic.slug}/share.png?lang=ar")
    assert response.data == share_image.DEFAULT_IMAGE.read_bytes()
    # An Arabic call with an English translation is drawn in English.
    translated = make_petition(
        title="افتحوا الحدود",
        language="ar",
        translations=[TranslationContent(language="en", title="Open the borders")],
    )
    assert pixels(client, translated.slug, "ar") == pixels(client, english.slug, "en")
    # An Arabic place on an English card is left out rather than drawn broken.
    place = make_petition(title="Open the borders", event_place="ساحة التحرير")
    assert share_image.share_card(place, "en").rally_where == ""


# --- The meta tags ------------------------------------------------------------------------


def test_meta_tags_point_at_the_calls_image_in_the_pages_language(client, petition):
    page = client.get(f"/p/{petition.slug}", headers={"Accept-Language": "fr"}).text
    url = f"http://petitions.example.org/p/{petition.slug}/share.png?lang=fr"
    assert meta(page, "og:image") == url
    assert meta(page, "twitter:image") == url
    assert meta(page, "og:image:width") == "1200"
    assert meta(page, "og:image:height") == "630"
    assert meta(page, "og:image:type") == "image/png"
    assert meta(page, "og:image:alt") == "Open the borders"
    assert meta(page, "twitter:card") == "summary_large_image"
    png(client, f"{petition.slug}", "fr")
    arabic = client.get(f"/p/{petition.slug}", headers={"Accept-Language": "ar"}).text
    assert meta(arabic, "og:image").endswith("/share.png?lang=ar")


def test_meta_image_follows_the_calls_language_chosen_by_lang(client, make_petition):
    petition = make_petition(translations=french())
    page = client.get(f"/p/{petition.slug}?lang=fr").text  # an English interface
    assert meta(page, "og:image").endswith(f"/p/{petition.slug}/share.png?lang=fr")
    assert meta(page, "og:image:alt") == "Ouvrez les frontières"


def test_share_image_url_setting_overrides_every_call(app, client, make_petition):
    app.config["SHARE_IMAGE_URL"] = "https://cdn.example.net/coalition.png"
    for petition in (make_petition(), make_petition(title="Another call")):
        page = client.get(f"/p/{petition.slug}").text
        assert meta(page, "og:image") == "https://cdn.example.net/coalition.png"
        assert meta(page, "twitter:image") == "https://cdn.example.net/coalition.png"
        assert "og:image:width" not in page  # its size is not ours to tell
