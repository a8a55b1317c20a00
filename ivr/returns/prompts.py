"""What the return node says: warm German and English defaults, each overridable in YAML."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ivr.flows.nodes.base import Text
from ivr.orders.prompts import OrderPrompts


def _t(de: str, en: str) -> Text:
    return Text({"de": de, "en": en})


#: The verification prompts of the order node, with an offer worded for a return.
VERIFY_PROMPTS = OrderPrompts(
    offer_recent=_t(
        "Möchten Sie etwas aus Ihrer Bestellung {order_date} zurückschicken? Dann drücken Sie die 1. "
        "Für eine andere Bestellung die 2, für einen Mitarbeiter die 0.",
        "Would you like to return something from your order {order_date}? Then press 1. "
        "For another order press 2, for an agent press 0.",
    ),
    ask_number=_t(
        "Für die Rücksendung brauche ich Ihre Bestellnummer. Bitte tippen Sie sie ein und drücken Sie "
        "dann die Raute. Sie können die Nummer auch einfach sagen.",
        "For the return I need your order number. Please key it in, then press hash. "
        "You can also just say it.",
    ),
)


class ReturnPrompts(BaseModel):
    """Every sentence after verification; ``{placeholders}`` are filled in by the node."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    not_delivered: Text = _t(
        "Diese Bestellung ist noch nicht bei Ihnen angekommen. Zurückschicken können Sie sie nach der "
        "Zustellung. Für einen Mitarbeiter drücken Sie die 0.",
        "This order has not reached you yet. You can return it once it has been delivered. "
        "For an agent press 0.",
    )
    expired: Text = _t(
        "Die Rückgabefrist von {period_days} Tagen für diese Bestellung ist {deadline} abgelaufen. "
        "Ist ein Artikel defekt, gilt die Gewährleistung: Dafür drücken Sie die 4. "
        "Für einen Mitarbeiter die 0.",
        "The {period_days}-day return period for this order ended {deadline}. If an item is faulty, "
        "the warranty applies: for that press 4. For an agent press 0.",
    )
    pick_item: Text = _t(
        "Welchen Artikel möchten Sie zurückschicken? {choices} Für alle Artikel die 9.",
        "Which item would you like to return? {choices} For all items press 9.",
    )
    item_choice: Text = _t("Für {item} drücken Sie die {key}.", "For {item} press {key}.")
    all_returned: Text = _t(
        "Für diese Bestellung ist bereits alles zur Rücksendung angemeldet. Für einen Mitarbeiter "
        "drücken Sie die 0.",
        "Everything in this order is already registered for return. For an agent press 0.",
    )
    too_many_items: Text = _t(
        "Diese Bestellung hat viele Artikel. Ein Mitarbeiter hilft Ihnen gern bei der Rücksendung.",
        "This order has many items. An agent will be glad to help you with the return.",
    )
    ask_reason: Text = _t(
        "Warum möchten Sie {items} zurückschicken? Passt nicht: die 1. Gefällt nicht: die 2. "
        "Beschädigt angekommen: die 3. Nach Gebrauch defekt: die 4.",
        "Why are you returning {items}? Does not fit: press 1. Do not like it: press 2. "
        "Arrived damaged: press 3. Stopped working after use: press 4.",
    )
    confirm: Text = _t(
        "Sie möchten {items} zurückschicken, weil {reason}. Zum Bestätigen drücken Sie die 1, "
        "zum Ändern die 2.",
        "You would like to return {items} because {reason}. To confirm press 1, to change it press 2.",
    )
    damaged: Text = _t(
        "Das tut uns leid. Eine beschädigte Lieferung klären wir am besten persönlich mit Ihnen.",
        "We are sorry. A damaged delivery is best sorted out with you in person.",
    )
    defective: Text = _t(
        "Für einen Defekt nach Gebrauch gilt die Gewährleistung. Das prüfen wir gern persönlich mit Ihnen.",
        "A fault after use is covered by the warranty. We will gladly look into it with you in person.",
    )
    registered: Text = _t(
        "Ihre Rücksendung ist angemeldet. Ihre Rücksendenummer lautet {return_number}.",
        "Your return is registered. Your return number is {return_number}.",
    )
    label_sms: Text = _t(
        "Den Link zum Rücksendeetikett schicken wir Ihnen gleich per SMS an die Handynummer aus "
        "Ihrer Bestellung.",
        "We are sending you the link to the return label by text message to the mobile number of your order.",
    )
    label_email: Text = _t(
        "Das Rücksendeetikett schicken wir Ihnen gleich per E-Mail an die Adresse aus Ihrer Bestellung.",
        "We are e-mailing the return label to the address of your order.",
    )
    label_by_agent: Text = _t(
        "Das Rücksendeetikett schickt Ihnen unser Team in den nächsten Tagen.",
        "Our team will send you the return label within the next few days.",
    )
    after_registered: Text = _t(
        "Um die Rücksendenummer noch einmal zu hören, drücken Sie die 1. Für einen Mitarbeiter die 0.",
        "To hear the return number again press 1. For an agent press 0.",
    )
    status_registered: Text = _t(
        "Ihre Rücksendung {return_number} ist angemeldet. Sobald sie bei uns eingeht, erstatten wir "
        "Ihnen den Betrag.",
        "Your return {return_number} is registered. As soon as it reaches us, we will refund you.",
    )
    status_received: Text = _t(
        "Ihre Rücksendung {return_number} ist {date} bei uns eingegangen. Die Erstattung folgt in den "
        "nächsten Tagen.",
        "Your return {return_number} reached us {date}. The refund follows within the next few days.",
    )
    status_refunded: Text = _t(
        "Den Betrag für Ihre Rücksendung {return_number} haben wir {date} erstattet.",
        "We refunded your return {return_number} {date}.",
    )
    after_status: Text = _t(
        "Zum Wiederholen drücken Sie die 1, um einen weiteren Artikel zurückzuschicken die 2, "
        "für einen Mitarbeiter die 0.",
        "To hear this again press 1, to return another item press 2, for an agent press 0.",
    )


#: How the confirmation names a reason ("…, weil {reason}").
REASON_WORDING = {
    "de": {
        "wrong_size": "es nicht passt",
        "dislike": "es Ihnen nicht gefällt",
        "damaged": "es beschädigt angekommen ist",
        "defective": "es defekt ist",
    },
    "en": {
        "wrong_size": "it does not fit",
        "dislike": "you do not like it",
        "damaged": "it arrived damaged",
        "defective": "it is faulty",
    },
}
ALL_ITEMS = {"de": "alle Artikel", "en": "all items"}
THE_ORDER = {"de": "die Bestellung", "en": "the order"}
