import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.crypto import NikCipher, decode_data_key, generate_data_key, mask_nik

niks = st.text(alphabet="0123456789", min_size=16, max_size=16)


def test_keygen_round_trip() -> None:
    key = generate_data_key()
    assert len(decode_data_key(key)) == 32
    with pytest.raises(ValueError):
        decode_data_key("c2hvcnQ=")


@given(niks)
def test_encrypt_decrypt_and_blind_index(nik: str) -> None:
    cipher = NikCipher.from_master(b"k" * 32)
    blob = cipher.encrypt(nik)
    assert nik.encode() not in blob
    assert cipher.decrypt(blob) == nik
    assert cipher.blind_index(nik) == cipher.blind_index(nik)
    assert nik not in cipher.blind_index(nik)


def test_blind_index_depends_on_key() -> None:
    a = NikCipher.from_master(b"a" * 32)
    b = NikCipher.from_master(b"b" * 32)
    assert a.blind_index("6472050809768748") != b.blind_index("6472050809768748")
    assert a.encrypt("6472050809768748") != a.encrypt("6472050809768748")  # random nonce


def test_mask_shows_first_and_last_four() -> None:
    assert mask_nik("6472050809768748") == "6472********8748"
