"""Every public page answers, and the shipped call is the one on the front page."""

from petition.extensions import db
from petition.petitions import load_shipped_calls


def test_front_page_lists_the_shipped_call(client):
    load_shipped_calls()
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 200
    assert "Place d’Armes in Calais" in response.text
