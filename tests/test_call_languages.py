"""A call in several languages: reading it, content files, the editor, signing, export, API."""

import re

import pytest
from sqlalchemy import event, func, select

from petition import petitions, signing
from petition.extensions import db
from petition.models import (
    AuditEntry,
    DemandTranslation,
    Petition,
    PetitionTranslation,
    Signature,
)
from petition.petitions import (
    CONTENT_DIRECTORY,
    ContentError,
    TranslationContent,
    call_text,
    load_call_file,
)

from .conftest import log_in
from .helpers import organizers_actions
from .test_organizer import read_csv
from .test_sign_http import VALID_ENDORSEMENT, VALID_SIGNATURE

SHIPPED = CONTENT_DIRECTORY / "cispm-calais-2016-10-14.md"
FRENCH = TranslationContent(
    language="fr",
    title="Ouvrir les frontières",
    summary="Un appel pour la liberté de circulation.",
    body="Nous appelons à la **liberté de circulation**.",
    demands=["Des papiers pour tous", "Fermer les camps"],
)


def translate(petition, translation=FRENCH):
    petitions.write_translation(petition, translation)
    db.session.commit()
    return petition


@pytest.fixture
def call(make_petition):
    """An English call translated into French."""
    return translate(make_petition(slug="open-borders"))


def content_of(html: str) -> str:
    """The call's article, without the page's header and menus."""
    return html[html.index('<article class="call">') : html.index("</article>")]


# -- reading a call in a language ----------------------------------------------------------


def test_a_french_reader_gets_the_french_text_and_the_list_of_languages(client, call):
    page = client.get("/p/open-borders", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).text
    article = content_of(page)
    assert '<h1 dir="auto">Ouvrir les frontières</h1>' in article
    assert "Un appel pour la liberté de circulation." in article
    assert "<strong>liberté de circulation</strong>" in article
    assert article.index("Des papiers pour tous") < article.index("Fermer les camps")
    assert "Open the borders" not in article and "Papers for all" not in article
    # Page and text agree: no lang attribute is needed on the text.
    assert '<html lang="fr"' in page and ' lang="fr"' not in article.split("call-languages")[0]
    # The languages, each named in itself; the one shown is marked.
    languages = article[article.index('class="call-languages"') :]
    assert "Cet appel existe en" in languages
    assert re.search(
        r'<a href="/language/en\?next=/p/open-borders" lang="en" hreflang="en">English</a>',
        languages,
    )
    assert re.search(
        r'<a href="/language/fr\?next=/p/open-borders" lang="fr" hreflang="fr" '
        r'aria-current="true">Français</a>',
        languages,
    )
    # Link previews and search engines get the French text and the other language.
    assert '<meta property="og:title" content="Ouvrir les frontières">' in page
    assert '<meta property="og:locale" content="fr">' in page
    assert 'hreflang="en" href="http://petitions.example.org/p/open-borders?lang=en"' in page


def test_the_language_cookie_chooses_the_text_too(client, call):
    client.get("/language/fr")
    page = client.get("/p/open-borders", headers={"Accept-Language": "en"}).text
    assert "Ouvrir les frontières" in content_of(page)
    client.get("/language/en")
    page = client.get("/p/open-borders", headers={"Accept-Language": "fr"}).text
    article = content_of(page)
    assert '<h1 dir="auto">Open the borders</h1>' in article
    assert "Ouvrir" not in article
    assert re.search(r'hreflang="en" aria-current="true">English</a>', article)


def test_a_language_without_translation_falls_back_to_the_calls_own(client, call):
    page = client.get("/p/open-borders", headers={"Accept-Language": "ar"}).text
    article = content_of(page)
    assert '<html lang="ar" dir="rtl">' in page
    # The English text, marked as English in an Arabic page, written left to right.
    assert '<header lang="en">' in article
    assert '<div class="call-text" lang="en" dir="auto">' in article
    assert '<ul class="demands" lang="en">' in article
    assert "Open the borders" in article and "Ouvrir" not in article
    assert "Cet appel" not in article  # the interface stays Arabic


def test_a_call_in_one_language_lists_no_languages(client, petition):
    page = client.get(f"/p/{petition.slug}", headers={"Accept-Language": "fr"}).text
    assert "call-languages" not in page
    assert 'hreflang="en" href' not in page


def test_a_missing_demand_translation_falls_back_to_the_calls_own(client, make_petition):
    petition = make_petition(slug="partly")
    translate(petition, TranslationContent(**{**FRENCH.__dict__, "demands": ["", "Fermer"]}))
    text = call_text(petition, "fr")
    assert text.demands == ("Papers for all", "Fermer")
    assert text.untranslated == frozenset({0})
    article = content_of(client.get("/p/partly", headers={"Accept-Language": "fr"}).text)
    assert '<li dir="auto" lang="en">Papers for all</li>' in article
    assert '<li dir="auto">Fermer</li>' in article


def test_lang_picks_a_language_the_interface_does_not_speak(client, call):
    spanish = TranslationContent(
        language="es",
        title="Abrir las fronteras",
        body="Llamamos a la libertad de circulación.",
        demands=["Papeles para todos", "Cerrar los campos"],
    )
    translate(call, spanish)
    response = client.get("/p/open-borders?lang=es", headers={"Accept-Language": "fr"})
    page = response.text
    article = content_of(page)
    # The interface stays French; the call's words are Spanish, marked as such.
    assert '<html lang="fr"' in page and "Signer à titre individuel" in page
    assert '<header lang="es">' in article and "Abrir las fronteras" in article
    assert "Papeles para todos" in article
    # Spanish has no interface: its link picks the text only. Other links keep the choice.
    assert '<a href="/p/open-borders?lang=es" lang="es" hreflang="es" aria-current="true">' in (
        article
    )
    assert 'href="/p/open-borders/sign?lang=es"' in article
    sign_page = client.get("/p/open-borders/sign?lang=es").text
    assert "Abrir las fronteras" in sign_page
    assert 'action="/p/open-borders/sign?lang=es"' in sign_page
    # Caches key on the URL (which holds ?lang=) and on what chose the interface.
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    assert "public" in response.headers["Cache-Control"]
    # A language the call does not have is ignored, not an error.
    other = client.get("/p/open-borders?lang=de", headers={"Accept-Language": "fr"})
    assert other.status_code == 200 and "Ouvrir les frontières" in other.text


def test_the_call_page_reads_its_text_once_per_version(app, client, call):
    """Warm, the page reads no demand or translation: the texts are kept per process until
    the call changes, whatever the number of demands and languages."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    client.get("/p/open-borders", headers={"Accept-Language": "fr"})
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get("/p/open-borders", headers={"Accept-Language": "fr"})
        client.get("/p/open-borders")
        warm = [s for s in statements if "demand" in s or "translation" in s]
        assert warm == []
        # A change of the translation is seen at once: it moves the call's updated_at.
        translate(call, TranslationContent(**{**FRENCH.__dict__, "title": "Nouveau titre"}))
        statements.clear()
        page = client.get("/p/open-borders", headers={"Accept-Language": "fr"}).text
        assert "Nouveau titre" in page
        # Three reads for every language of the call, not one per demand or language.
        assert len([s for s in statements if "demand" in s or "translation" in s]) == 3
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_other_public_pages_use_the_readers_language(client, call, make_signature):
    french = {"Accept-Language": "fr"}
    make_signature(call, confirmed=True)
    for url in ("/", "/p/open-borders/signers", "/p/open-borders/organizations"):
        page = client.get(url, headers=french).text
        assert "Ouvrir les frontières" in page, url
        assert "Open the borders" not in page, url
    for url in ("/p/open-borders/sign", "/p/open-borders/endorse", "/p/open-borders/embed"):
        assert "Ouvrir les frontières" in client.get(url, headers=french).text, url
    # The share links and the rally's calendar entry.
    page = client.get("/p/open-borders", headers=french).text
    assert "text=Ouvrir%20les%20fronti%C3%A8res" in page
    ics = client.get("/p/open-borders/rally.ics", headers=french)
    assert b"SUMMARY;LANGUAGE=fr:Ouvrir les fronti\xc3\xa8res" in ics.data
    assert "Accept-Language" in ics.vary
    assert b"SUMMARY;LANGUAGE=en:Open the borders" in client.get("/p/open-borders/rally.ics").data


# -- content files ---------------------------------------------------------------------------

CALL_FILE = """+++
slug = "open-the-borders"
language = "en"
title = "Open the borders"
demands = ["Papers for all", "Close the camps"]
+++
We call for **freedom of movement**.
"""
TRANSLATION_FILE = """+++
slug = "open-the-borders"
language = "fr"
title = "Ouvrir les frontières"
summary = "Un appel."
demands = ["Des papiers pour tous", "Fermer les camps"]
+++
Nous appelons à la **liberté de circulation**.
"""


@pytest.fixture
def content(tmp_path):
    """A call file and its French translation in a directory."""
    (tmp_path / "open-the-borders.md").write_text(CALL_FILE, encoding="utf-8")
    (tmp_path / "open-the-borders.fr.md").write_text(TRANSLATION_FILE, encoding="utf-8")
    return tmp_path


def stored_translations():
    return db.session.execute(
        select(PetitionTranslation.language, PetitionTranslation.title).order_by(
            PetitionTranslation.language
        )
    ).all()


def test_loading_a_call_file_loads_its_translations_and_reloading_changes_nothing(app, content):
    petition, created = load_call_file(content / "open-the-borders.md")
    db.session.commit()
    assert created and petition.language == "en"
    assert [tuple(row) for row in stored_translations()] == [("fr", "Ouvrir les frontières")]
    french = call_text(petition, "fr")
    assert french.demands == ("Des papiers pour tous", "Fermer les camps")
    assert french.summary == "Un appel." and "<strong>liberté" in french.body

    rows = db.session.scalar(select(func.count()).select_from(DemandTranslation))
    for path in ("open-the-borders.md", "open-the-borders.fr.md"):  # either file loads both
        again, created = load_call_file(content / path)
        db.session.commit()
        assert not created and again.id == petition.id
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 1
    assert db.session.scalar(select(func.count()).select_from(DemandTranslation)) == rows == 2
    assert len(stored_translations()) == 1

    # A changed translation file updates the translation in place.
    (content / "open-the-borders.fr.md").write_text(
        TRANSLATION_FILE.replace("Ouvrir les frontières", "Ouvrons les frontières"), "utf-8"
    )
    load_call_file(content / "open-the-borders.md")
    db.session.commit()
    assert [tuple(row) for row in stored_translations()] == [("fr", "Ouvrons les frontières")]


def test_a_translation_added_in_the_editor_survives_a_reload(app, content):
    petition, _ = load_call_file(content / "open-the-borders.md")
    translate(petition, TranslationContent(language="de", title="Grenzen öffnen"))
    load_call_file(content / "open-the-borders.md")
    db.session.commit()
    assert [row.language for row in stored_translations()] == ["de", "fr"]


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("open-the-borders.fr.md", ("open-the-borders", "another-call"), "no call file has it"),
        (
            "open-the-borders.fr.md",
            (', "Fermer les camps"]', "]"),
            "1 demands where the call has 2",
        ),
        ("open-the-borders.fr.md", ('language = "fr"', 'language = "en"'), "the call's own"),
        ("open-the-borders.fr.md", ('language = "fr"', 'language = "xx"'), "language must be"),
        ("open-the-borders.fr.md", ('language = "fr"', 'language = "es"'), "file name's"),
        ("open-the-borders.fr.md", ('summary = "Un appel."', 'status = "closed"'), "status"),
        ("open-the-borders.fr.md", ('title = "Ouvrir les frontières"', ""), "title must be"),
        ("open-the-borders.md", ('language = "en"', 'language = "fr"'), "the call's own"),
        ("open-the-borders.md", ('language = "en"', 'language = "english"'), "language must"),
    ],
)
def test_bad_translation_files_are_refused_and_nothing_is_stored(
    app, content, name, change, message
):
    path = content / name
    path.write_text(path.read_text("utf-8").replace(*change), "utf-8")
    with pytest.raises(ContentError) as error:
        load_call_file(content / "open-the-borders.md")
    assert message in str(error.value)
    if name != "open-the-borders.md":
        assert name in str(error.value)  # the file at fault is named
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 0


def test_a_translation_without_its_call_file_is_refused(runner, content):
    (content / "open-the-borders.md").rename(content / "elsewhere.md")
    result = runner.invoke(args=["petitions", "load", str(content / "open-the-borders.fr.md")])
    assert result.exit_code != 0
    assert "open-the-borders.fr.md" in result.output
    assert "no call file open-the-borders.md beside it" in result.output
    assert db.session.scalar(select(func.count()).select_from(Petition)) == 0


def test_the_cli_loads_a_call_with_its_translations(runner, content):
    result = runner.invoke(args=["petitions", "load", str(content / "open-the-borders.md")])
    assert result.exit_code == 0, result.output
    assert "Added open-the-borders." in result.output
    assert "In en, translated into fr." in result.output
    assert [row.language for row in stored_translations()] == ["fr"]


def test_the_shipped_french_text_is_complete():
    content = petitions.read_call_files(SHIPPED)
    assert content.language == "en"
    (french,) = content.translations
    assert french.language == "fr"
    assert len(french.demands) == len(content.demands) == 4
    assert all(demand.strip() for demand in french.demands)
    # Every paragraph and the three denounced points, in the coalition's own terms.
    assert french.body.count("\n\n") == content.body.count("\n\n")
    assert petitions.render_markdown(french.body).count("<li>") == 3
    for term in (
        "Coalition internationale des sans-papiers et migrants (CISPM)",
        "la jungle",
        "Troïka (Commission européenne, FMI, BCE)",
        "diviser pour mieux régner",
        "place d’Armes",
    ):
        assert term in french.body, term
    assert "liberté de circulation et d’installation" in french.demands[3]
    assert "17 octobre 1961" in french.demands[2]
    assert "translation made for this service" in (SHIPPED.with_suffix(".fr.md")).read_text(
        "utf-8"
    ).replace("\n#", "")


def test_init_db_ships_the_call_in_english_and_french(runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    petition = db.session.scalar(select(Petition))
    text = call_text(petition, "fr")
    assert text.languages == ("en", "fr")
    assert text.title.startswith("Rassemblement le 14 octobre 2016")
    assert len(text.demands) == 4 and not text.untranslated


def test_init_db_adds_the_french_to_a_call_stored_before_it_existed(runner):
    """A database that has the call from before translations gets the French text, for the
    demands that still have the words it translates; what organizers wrote stays."""
    content = petitions.read_call_files(SHIPPED)
    content.translations = []
    content.demands[1] = "A demand an organizer rewrote"
    petition, _ = petitions.save_call(content)
    db.session.commit()

    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "cispm-calais-2016-10-14: translation fr added" in result.output
    db.session.expire_all()
    text = call_text(petition, "fr")
    assert text.languages == ("en", "fr")
    assert text.untranslated == frozenset({1})
    assert text.demands[1] == "A demand an organizer rewrote"

    again = runner.invoke(args=["init-db"])
    assert "translation fr added" not in again.output
    assert db.session.scalar(select(func.count()).select_from(PetitionTranslation)) == 1


# -- demands and translations ------------------------------------------------------------------


def test_demands_moved_keep_their_translations_and_edited_ones_lose_them(app, call):
    content = petitions.CallContent(
        slug="open-borders",
        title=call.title,
        demands=["Close the camps", "Papers for all, now", "A new demand"],
    )
    petitions.edit_call(call, content)
    db.session.commit()
    text = call_text(call, "fr")
    # Moved: still translated. Edited: the old translation is gone. New: untranslated.
    assert text.demands == ("Fermer les camps", "Papers for all, now", "A new demand")
    assert text.untranslated == frozenset({1, 2})
    assert db.session.scalar(select(func.count()).select_from(DemandTranslation)) == 1

    # Removing the demands removes their translations.
    petitions.edit_call(call, petitions.CallContent(slug="open-borders", title=call.title))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DemandTranslation)) == 0


def test_a_demand_given_twice_keeps_one_translation_each(app, make_petition):
    petition = make_petition(demands=["Same", "Same"])
    translate(petition, TranslationContent(language="fr", title="T", demands=["Un", "Deux"]))
    content = petitions.CallContent(
        slug=petition.slug, title=petition.title, demands=["Other", "Same", "Same"]
    )
    petitions.edit_call(petition, content)
    db.session.commit()
    assert call_text(petition, "fr").demands == ("Other", "Un", "Deux")


# -- the organizers' editor ------------------------------------------------------------------


def translation_form(**overrides) -> dict:
    data = {
        "language": "fr",
        "title": "Ouvrir les frontières",
        "summary": "Un appel.",
        "body": "Nous appelons à la **liberté**.",
        "demands-0": "Des papiers pour tous",
        "demands-1": "",
        "save": "Save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def audit_entries(petition):
    return [
        (entry.action, entry.details)
        for entry in db.session.scalars(
            select(AuditEntry).where(AuditEntry.petition_id == petition.id).order_by(AuditEntry.id)
        )
    ]


def test_the_call_editor_chooses_the_calls_language_and_lists_translations(logged_in, call):
    page = logged_in.get("/organizer/p/open-borders/edit").text
    assert '<option selected value="en">English (en)</option>' in page
    assert 'value="fr">French (fr)</option>' in page
    section = page[page.index('id="translations"') :]
    assert 'href="/organizer/p/open-borders/translations/fr">French (fr)</a>' in section
    assert 'action="/organizer/p/open-borders/translations/fr/delete"' in section
    assert 'href="/organizer/p/open-borders/translations/new"' in section


def test_an_organizer_adds_edits_and_deletes_a_translation(logged_in, petition):
    url = f"/organizer/p/{petition.slug}/translations"
    form = logged_in.get(f"{url}/new")
    assert form.status_code == 200
    assert form.headers["Cache-Control"] == "no-store"
    # One field per demand, each showing the call's own words.
    assert 'name="demands-0"' in form.text and 'name="demands-1"' in form.text
    assert 'name="demands-2"' not in form.text
    assert "In English: Papers for all" in form.text
    assert "In English: Close the camps" in form.text
    # Neither the call's own language nor one it has is offered.
    assert 'value="en"' not in form.text and 'value="fr">French (fr)' in form.text

    response = logged_in.post(f"{url}/new", data=translation_form())
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organizer/p/{petition.slug}/edit#translations"
    text = call_text(petition, "fr")
    assert text.title == "Ouvrir les frontières"
    assert text.demands == ("Des papiers pour tous", "Close the camps")
    assert audit_entries(petition) == [
        ("add_translation", {"language": "fr", "changed": ["title", "summary", "body", "demands"]})
    ]
    # The page marks the demand not translated yet.
    page = logged_in.get(f"{url}/fr").text
    assert page.count("Not translated: this language") == 1
    assert 'lang="fr"' in page and "Des papiers pour tous</textarea>" in page

    response = logged_in.post(
        f"{url}/fr",
        data=translation_form(
            language=None, title="Ouvrons les frontières", **{"demands-1": "Fermer"}
        ),
    )
    assert response.status_code == 302
    assert "Ouvrons les frontières" in logged_in.get(f"/p/{petition.slug}?lang=fr").text
    assert audit_entries(petition)[-1] == (
        "edit_translation",
        {"language": "fr", "changed": ["title", "demands"]},
    )
    # Saving it unchanged records nothing.
    logged_in.post(
        f"{url}/fr",
        data=translation_form(
            language=None, title="Ouvrons les frontières", **{"demands-1": "Fermer"}
        ),
    )
    assert len(audit_entries(petition)) == 2

    response = logged_in.post(f"{url}/fr/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert petition.translations == []
    assert db.session.scalar(select(func.count()).select_from(DemandTranslation)) == 0
    assert audit_entries(petition)[-1] == ("delete_translation", {"language": "fr"})
    assert call_text(petition, "fr").language == "en"
    assert logged_in.get(f"{url}/fr").status_code == 404
    assert logged_in.post(f"{url}/fr/delete").status_code == 302  # nothing left: a notice


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "English is the call&#39;s own language: a translation is in another."),
        ("fr", "The call is already translated into French: edit that translation."),
        ("xx", "Please choose from the list."),
        ("", "Please choose a language."),
    ],
)
def test_a_translation_in_the_calls_language_or_a_second_one_is_refused(
    logged_in, call, language, message
):
    response = logged_in.post(
        "/organizer/p/open-borders/translations/new",
        data=translation_form(language=language, title="Autre titre"),
    )
    assert response.status_code == 422
    assert message in response.text
    db.session.expire_all()
    assert [(row.language, row.title) for row in call.translations] == [
        ("fr", "Ouvrir les frontières")
    ]
    assert audit_entries(call) == []


def test_an_empty_title_is_refused(logged_in, call):
    response = logged_in.post(
        "/organizer/p/open-borders/translations/fr", data=translation_form(title="  ")
    )
    assert response.status_code == 422
    assert "This field is required." in response.text
    db.session.expire_all()
    assert call.translations[0].title == "Ouvrir les frontières"


def test_the_calls_language_cannot_become_one_it_is_translated_into(logged_in, call):
    from .test_calls import edit_data

    data = edit_data(logged_in, call, language="fr")
    response = logged_in.post("/organizer/p/open-borders/edit", data=data)
    assert response.status_code == 422
    assert "The call is translated into this language" in response.text
    db.session.expire_all()
    assert call.language == "en"
    # Another language is fine, and recorded.
    response = logged_in.post("/organizer/p/open-borders/edit", data={**data, "language": "de"})
    assert response.status_code == 302
    db.session.expire_all()
    assert call.language == "de"
    assert audit_entries(call) == [("edit_call", {"changed": ["language"]})]


def test_edited_demands_show_as_untranslated_in_the_editor(logged_in, call):
    from .test_calls import edit_data

    data = edit_data(logged_in, call, **{"demands-0-text": "Papers for everyone"})
    assert logged_in.post("/organizer/p/open-borders/edit", data=data).status_code == 302
    page = logged_in.get("/organizer/p/open-borders/edit").text
    section = page[page.index('id="translations"') :]
    assert re.search(r"French \(fr\)</a></th>\s*<td>[^<]+</td>\s*<td>1</td>", section)
    form = logged_in.get("/organizer/p/open-borders/translations/fr").text
    assert form.count("Not translated: this language") == 1
    assert "In English: Papers for everyone" in form


def test_the_calls_own_words_are_escaped_in_the_translation_editor(logged_in, make_petition):
    petition = make_petition(title="<b>Bold</b>", demands=["<script>alert(1)</script>"])
    page = logged_in.get(f"/organizer/p/{petition.slug}/translations/new").text
    assert "<script>alert(1)" not in page and "<b>Bold" not in page
    assert "In English: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "In English: &lt;b&gt;Bold&lt;/b&gt;" in page


def test_translations_need_rights_on_the_call(client, make_petition, make_organizer):
    theirs = translate(make_petition(slug="theirs"))
    mine = make_petition(slug="mine")
    helper = make_organizer(petitions=[mine])
    log_in(client, helper)
    assert client.get("/organizer/p/mine/translations/new").status_code == 200
    for method, url in (
        ("GET", "/organizer/p/theirs/translations/new"),
        ("POST", "/organizer/p/theirs/translations/new"),
        ("GET", "/organizer/p/theirs/translations/fr"),
        ("POST", "/organizer/p/theirs/translations/fr"),
        ("POST", "/organizer/p/theirs/translations/fr/delete"),
    ):
        response = client.open(url, method=method, data=translation_form(language="de"))
        assert response.status_code == 403, (method, url)
    db.session.expire_all()
    assert [(row.language, row.title) for row in theirs.translations] == [
        ("fr", "Ouvrir les frontières")
    ]
    assert organizers_actions() == []


def test_translations_need_a_login_and_a_csrf_token(app, client, logged_in, call):
    app.config["WTF_CSRF_ENABLED"] = True
    response = logged_in.post(
        "/organizer/p/open-borders/translations/new", data=translation_form(language="de")
    )
    assert response.status_code == 422
    assert "The form expired" in response.text
    response = logged_in.post(
        "/organizer/p/open-borders/translations/fr", data=translation_form(title="Forged")
    )
    assert response.status_code == 422
    assert logged_in.post("/organizer/p/open-borders/translations/fr/delete").status_code == 400
    assert logged_in.get("/organizer/p/open-borders/translations/fr/delete").status_code == 405
    db.session.expire_all()
    assert [(row.language, row.title) for row in call.translations] == [
        ("fr", "Ouvrir les frontières")
    ]
    # With the page's token, it works.
    page = logged_in.get("/organizer/p/open-borders/translations/fr").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = logged_in.post(
        "/organizer/p/open-borders/translations/fr/delete", data={"csrf_token": token}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert call.translations == []

    logged_in.post("/organizer/logout", data={"csrf_token": token})
    anonymous = app.test_client()
    response = anonymous.get("/organizer/p/open-borders/translations/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/organizer/login")


# -- signing and the export --------------------------------------------------------------------


def test_signatures_in_either_language_land_on_one_call_and_the_export_says_which(
    client, logged_in, call, mails, organizer
):
    for language, email in (("fr", "amelie@example.org"), ("en", "amina@example.org")):
        signer = client.application.test_client()
        response = signer.post(
            "/p/open-borders/sign",
            data={**VALID_SIGNATURE, "email": email},
            headers={"Accept-Language": language},
        )
        assert response.status_code == 302
        signer.post(
            "/p/open-borders/endorse",
            data={**VALID_ENDORSEMENT, "contact_email": email, "organization": email[:5]},
            headers={"Accept-Language": language},
        )
    # Each mail names the call in its signer's language.
    french_mail = mails.to("amelie@example.org")[0]
    assert (
        french_mail["Subject"] == "Veuillez confirmer votre signature\u00a0: Ouvrir les frontières"
    )
    assert mails.to("amina@example.org")[0]["Subject"].endswith(": Open the borders")

    signatures = db.session.scalars(select(Signature).order_by(Signature.id)).all()
    assert [s.petition_id for s in signatures] == [call.id, call.id]
    for signature in signatures:
        signing.confirm(signature)
    db.session.commit()
    header, *rows = read_csv(logged_in.get("/organizer/p/open-borders/export/individuals.csv"))
    languages = {row[header.index("email")]: row[header.index("language")] for row in rows}
    assert languages == {"amelie@example.org": "fr", "amina@example.org": "en"}

    header, *rows = read_csv(
        logged_in.get("/organizer/p/open-borders/export/organizations.csv?all=1")
    )
    languages = {row[0]: row[header.index("language")] for row in rows}
    assert languages == {"ameli": "fr", "amina": "en"}


# -- the API ---------------------------------------------------------------------------------


def test_the_api_gives_the_call_in_the_language_asked(client, call):
    english = client.get("/api/v1/calls/open-borders").get_json()
    assert english["language"] == "en" and english["languages"] == ["en", "fr"]
    assert english["title"] == "Open the borders"

    by_header = client.get("/api/v1/calls/open-borders", headers={"Accept-Language": "fr-CA"})
    assert by_header.get_json()["title"] == "Ouvrir les frontières"
    assert "Accept-Language" in by_header.vary and "Cookie" not in by_header.vary

    french = client.get("/api/v1/calls/open-borders?lang=fr").get_json()
    assert french["language"] == "fr"
    assert french["body"] == "Nous appelons à la **liberté de circulation**."
    assert french["demands"] == ["Des papiers pour tous", "Fermer les camps"]
    # ?lang= first, then the header, then the call's own.
    asked = client.get("/api/v1/calls/open-borders?lang=de", headers={"Accept-Language": "fr"})
    assert asked.get_json()["language"] == "fr"
    assert client.get("/api/v1/calls/open-borders?lang=de").get_json()["language"] == "en"

    listed = client.get("/api/v1/calls?lang=fr").get_json()["calls"]
    assert [(c["slug"], c["title"], c["language"]) for c in listed] == [
        ("open-borders", "Ouvrir les frontières", "fr")
    ]


@pytest.mark.parametrize("lang", ["FR", "fr-FR", "french", "f", "<b>", ""])
def test_the_api_refuses_a_malformed_language(client, call, lang):
    for url in ("/api/v1/calls/open-borders", "/api/v1/calls"):
        response = client.get(url, query_string={"lang": lang})
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"
        assert "lang" in response.get_json()["message"]
