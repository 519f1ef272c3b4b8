"""The printable certificate: a PDF in French or English with a QR code to the verification URL."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from certificates import pdf
from tests.certificates._activity import ibm_101, send
from tests.certificates.conftest import Settle


def _text(document: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"params": {"lang": "fr"}}, ("Certificat", "Fondamentaux de la gestion intégrée")),
        ({"headers": {"Accept-Language": "fr-SN, en;q=0.5"}}, ("Nous certifions que",)),
        ({"params": {"lang": "en"}}, ("This certifies that", "Integrated Border Management")),
        ({}, ("Certificate",)),
    ],
)
async def test_the_pdf_names_the_official_and_leads_to_verification(
    xapi: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    settle: Settle,
    choice: dict[str, dict[str, str]],
    expected: tuple[str, ...],
) -> None:
    await send(xapi, ibm_101())
    await settle()
    [certificate] = (await admin.get("/api/v1/certificates")).json()["certificates"]
    response = await admin.get(f"/api/v1/certificates/{certificate['id']}.pdf", **choice)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = _text(response.content)
    assert "Amina Diallo" in text
    for words in expected:
        assert words in text
    url = f"http://testserver/api/v1/certificates/{certificate['id']}/verify"
    assert response.headers["X-Verification-URL"] == url
    assert url in text.replace("\n", "")
    # The QR code embedded is the one segno makes for that URL.
    assert _qr_pixels(pdf.qr_png(url)) in _embedded_pixels(response.content)
    assert (await admin.get(url)).json()["status"] == "valid"


def _qr_pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("L").tobytes()


def _embedded_pixels(document: bytes) -> list[bytes]:
    """The pixels of each image in the PDF (the QR code is drawn as an image)."""
    page = PdfReader(io.BytesIO(document)).pages[0]
    return [image.image.convert("L").tobytes() for image in page.images]
