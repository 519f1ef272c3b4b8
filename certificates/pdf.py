"""A printable certificate (pure): A4 landscape, French or English, with a QR code that leads to
the verification URL (fpdf2 for the page, segno for the code)."""

from __future__ import annotations

import io
import unicodedata

import segno
from fpdf import FPDF

TEXTS = {
    "en": {
        "heading": "Certificate",
        "certifies": "This certifies that",
        "completed": "has met the certification requirements of the course",
        "issued": "Issued on",
        "expires": "Valid until",
        "no_expiry": "No expiry",
        "id": "Certificate number",
        "verify": "Verify this certificate:",
        "status": "Status at printing",
    },
    "fr": {
        "heading": "Certificat",
        "certifies": "Nous certifions que",
        "completed": "a satisfait aux conditions de certification du cours",
        "issued": "Délivré le",
        "expires": "Valable jusqu'au",
        "no_expiry": "Sans date d'expiration",
        "id": "Numéro du certificat",
        "verify": "Vérifier ce certificat :",
        "status": "Statut à l'impression",
    },
}


def printable(text: str) -> str:
    """Text the PDF core fonts can draw (Latin-1): other letters lose their accents or become ?."""
    out = []
    for char in text:
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def render_certificate(
    language: str,
    learner: str,
    course_title: str,
    certificate_id: str,
    issued: str,
    expires: str | None,
    status: str,
    verify_url: str,
) -> bytes:
    t = TEXTS[language]
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(printable(f"{t['heading']} {certificate_id}"))
    pdf.set_creator("ACBC LRS")
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    pdf.set_font("Helvetica", "B", 32)
    pdf.cell(0, 24, printable(t["heading"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 16)
    pdf.cell(0, 12, printable(t["certifies"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(0, 16, printable(learner), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 16)
    pdf.cell(0, 12, printable(t["completed"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 10, printable(course_title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 12)
    lines = [
        f"{t['issued']}: {issued}",
        f"{t['expires']}: {expires or t['no_expiry']}",
        f"{t['id']}: {certificate_id}",
        f"{t['status']}: {status}",
    ]
    for line in lines:
        pdf.cell(180, 8, printable(line), new_x="LMARGIN", new_y="NEXT")
    pdf.image(io.BytesIO(qr_png(verify_url)), x=220, y=130, w=50, h=50)
    pdf.set_xy(20, 185)
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 6, printable(f"{t['verify']} {verify_url}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
