"""Forms: the shape of the input, one module per audience. Text is cleaned (NFC,
whitespace) before it is validated, and the signer's values are checked by petition/rules.py.

fields.py    what every form is made of (the base form, cleaned fields, countries, dates)
signing.py   the public forms: signing and endorsing
accounts.py  logging in, invitations, roles and passwords
calls.py     a call, its demands and translations
moderation.py  searching signatures, bulk changes, reviewing endorsements
exports.py   an export's filters
imports.py   a CSV file of signatures
"""
