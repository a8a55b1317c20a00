"""The order-status node's prompts: warm German and English defaults, each overridable in YAML."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ivr.flows.nodes.base import Text
from ivr.flows.phrases import NO_INPUT, NO_MATCH


def _t(de: str, en: str) -> Text:
    return Text({"de": de, "en": en})


class OrderPrompts(BaseModel):
    """Every sentence the node says; ``{placeholders}`` are filled in by the node."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offer_recent: Text = _t(
        "Ihre Bestellung {order_date}: drücken Sie die 1. Für eine andere Bestellung die 2, "
        "für einen Mitarbeiter die 0.",
        "For your order {order_date}, press 1. For another order press 2, for an agent press 0.",
    )
    ask_number: Text = _t(
        "Bitte tippen Sie Ihre Bestellnummer ein und drücken Sie dann die Raute. "
        "Sie können die Nummer auch einfach sagen.",
        "Please key in your order number, then press hash. You can also just say it.",
    )
    invalid_number: Text = _t(
        "Das habe ich leider nicht als Bestellnummer erkannt. Sie besteht nur aus Ziffern.",
        "Sorry, that did not sound like an order number. It has digits only.",
    )
    ask_postal: Text = _t(
        "Zur Sicherheit: Bitte tippen Sie die Postleitzahl der Lieferadresse ein.",
        "For your security, please key in the postal code of the delivery address.",
    )
    wrong_postal: Text = _t(
        "Die Postleitzahl passt leider nicht zur Bestellung. Bitte versuchen Sie es noch einmal.",
        "Sorry, that postal code does not match the order. Please try again.",
    )
    not_verified: Text = _t(
        "Zu dieser Bestellung kann ich Ihnen am Telefon leider keine Auskunft geben. Ein Mitarbeiter "
        "hilft Ihnen gern weiter: Drücken Sie die 0 oder sagen Sie ja.",
        "I am sorry, I cannot give you details about this order by phone. An agent will be glad to "
        "help: press 0 or say yes.",
    )
    menu: Text = _t(
        "Zum Wiederholen drücken Sie die 1, für die Sendungsnummer die 2, für eine andere Bestellung "
        "die 3, für einen Mitarbeiter die 0.",
        "To hear this again press 1, for the tracking number press 2, for another order press 3, "
        "for an agent press 0.",
    )
    menu_without_tracking: Text = _t(
        "Zum Wiederholen drücken Sie die 1, für eine andere Bestellung die 3, für einen Mitarbeiter die 0.",
        "To hear this again press 1, for another order press 3, for an agent press 0.",
    )
    menu_delivered: Text = _t(
        "Zum Wiederholen drücken Sie die 1, um ein Problem mit der Lieferung zu melden die 4, für eine "
        "andere Bestellung die 3, für einen Mitarbeiter die 0.",
        "To hear this again press 1, to report a problem with the delivery press 4, for another order "
        "press 3, for an agent press 0.",
    )
    menu_overdue: Text = _t(
        "Um die Verspätung zu melden, drücken Sie die 4. Zum Wiederholen die 1, für einen Mitarbeiter die 0.",
        "To report the delay press 4. To hear this again press 1, for an agent press 0.",
    )
    offer_callback: Text = _t(
        "Wenn wir Sie zurückrufen sollen, sobald wir mehr wissen, drücken Sie die 5.",
        "To be called back as soon as we know more, press 5.",
    )
    no_input: Text = NO_INPUT
    no_match: Text = NO_MATCH
    give_up: Text = _t(
        "Das hat leider nicht geklappt. Ein Mitarbeiter hilft Ihnen gern weiter.",
        "Sorry, that did not work. An agent will be glad to help you.",
    )
    locked: Text = _t(
        "Weitere Auskünfte zu Bestellungen kann ich Ihnen am Telefon leider nicht geben. "
        "Ein Mitarbeiter hilft Ihnen gern weiter.",
        "I am sorry, I cannot give out more order details by phone. An agent will be glad to help you.",
    )
    unavailable: Text = _t(
        "Unser Bestellsystem ist gerade leider nicht erreichbar. Ein Mitarbeiter hilft Ihnen gern weiter.",
        "Sorry, our order system cannot be reached right now. An agent will be glad to help you.",
    )
