"""Checksum rules: valid values are generated with the rule itself, invalid ones are known or mutated."""

from __future__ import annotations

import random

import pytest

from anonymisation.checksums import bsn_valid, btw_valid, iban_valid, kvk_valid, luhn_valid

RNG = random.Random(20261123)  # noqa: S311 - reproducible test data, not cryptography


def make_bsn(rng: random.Random) -> str:
    """Return a random nine-digit number that passes the 11-proef (weights 9..2, -1)."""
    while True:
        head = [rng.randint(0, 9) for _ in range(8)]
        check = sum(w * d for w, d in zip(range(9, 1, -1), head, strict=True)) % 11
        if check <= 9 and any([*head, check]):
            return "".join(map(str, head)) + str(check)


def make_iban(country: str, bban: str) -> str:
    """Return the IBAN for ``bban`` with the check digits computed per ISO 13616."""
    rearranged = bban + country + "00"
    remainder = int("".join(str(int(c, 36)) for c in rearranged)) % 97
    return f"{country}{98 - remainder:02d}{bban}"


def mod97(text: str) -> int:
    return int("".join(str(int(c, 36)) for c in text)) % 97


# --- BSN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bsn", [make_bsn(RNG) for _ in range(25)])
def test_generated_bsns_are_valid_and_a_changed_check_digit_is_not(bsn):
    assert bsn_valid(bsn)
    wrong = bsn[:8] + str((int(bsn[8]) + 1) % 10)
    assert not bsn_valid(wrong)


def test_bsn_known_values_and_formats():
    assert bsn_valid("123456782")
    assert bsn_valid("123.456.782")
    assert bsn_valid("1234 56 782")
    assert not bsn_valid("123456789")  # the classic invalid example
    assert not bsn_valid("000000000")
    assert not bsn_valid("12345678a")
    assert not bsn_valid("1234567820")  # ten digits
    assert not bsn_valid("1234567")


def test_bsn_eight_digits_are_padded_with_a_leading_zero():
    while True:
        bsn = make_bsn(RNG)
        if bsn.startswith("0"):
            break
    assert bsn_valid(bsn[1:])  # written without the leading zero
    assert bsn_valid("12345672") is bsn_valid("012345672")


# --- IBAN --------------------------------------------------------------------------------------------


def test_iban_known_valid_examples():
    for iban in ["NL91ABNA0417164300", "DE89370400440532013000", "GB82WEST12345698765432", "BE68539007547034"]:
        assert iban_valid(iban), iban
    assert iban_valid("NL91 ABNA 0417 1643 00")
    assert iban_valid("nl91 abna 0417 1643 00")


@pytest.mark.parametrize("seed", range(10))
def test_generated_dutch_ibans_are_valid_and_mutations_are_not(seed):
    rng = random.Random(seed)  # noqa: S311
    bank = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
    iban = make_iban("NL", bank + "".join(rng.choice("0123456789") for _ in range(10)))
    assert iban_valid(iban)
    swapped_check = iban[:2] + iban[3] + iban[2] + iban[4:]
    assert iban[2] == iban[3] or not iban_valid(swapped_check)
    changed_digit = iban[:-1] + str((int(iban[-1]) + 1) % 10)
    assert not iban_valid(changed_digit)


def test_iban_length_and_dutch_layout_are_checked():
    assert not iban_valid("NL91ABNA041716430")  # one digit short
    # A mod-97-correct NL number with digits where the four-letter bank code belongs is not a Dutch IBAN.
    fake = make_iban("NL", "1234" + "0417164300")
    assert mod97(fake[4:] + fake[:4]) == 1
    assert not iban_valid(fake)
    assert not iban_valid("DE8937040044053201300")  # Germany: 22 characters
    assert not iban_valid("hello world")


# --- Luhn / KvK --------------------------------------------------------------------------------------


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("4111 1111 1111 1111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("")
    assert not luhn_valid("4111-1111-abcd-1111")


def test_kvk_is_format_only():
    assert kvk_valid("12345678")
    assert kvk_valid("6912 3456")
    assert not kvk_valid("1234567")
    assert not kvk_valid("123456789")
    assert not kvk_valid("00000000")
    assert not kvk_valid("1234567a")


# --- BTW ---------------------------------------------------------------------------------------------


def test_btw_old_rule_eleven_test():
    assert btw_valid("NL004495445B01")  # 004495445 passes the 11-proef
    assert btw_valid("004495445B01")
    assert btw_valid("NL 0044.95.445.B01")
    assert not btw_valid("NL123456789B90")
    assert not btw_valid("NL004495445B00")  # sequence numbers start at 01
    assert not btw_valid("NL004495445X01")


def test_btw_mod97_rule_since_2020():
    assert btw_valid("NL002455799B11")  # valid only under the mod-97 rule
    assert not bsn_valid("002455799")


@pytest.mark.parametrize("seed", range(10))
def test_btw_generated_mod97_numbers_without_eleven_test(seed):
    rng = random.Random(seed)  # noqa: S311
    while True:
        digits = "".join(rng.choice("0123456789") for _ in range(9))
        if bsn_valid(digits):
            continue
        suffixes = [f"{n:02d}" for n in range(1, 100) if mod97(f"NL{digits}B{n:02d}") == 1]
        if suffixes:
            break
    assert btw_valid(f"NL{digits}B{suffixes[0]}")
    wrong = next(f"{n:02d}" for n in range(1, 100) if mod97(f"NL{digits}B{n:02d}") != 1)
    assert not btw_valid(f"NL{digits}B{wrong}")
