"""The table number format: 3 significant digits, fixed or scientific, identical in JavaScript."""

from __future__ import annotations

import math
import random
import shutil

import pytest

from gradtrace.simulate.formatting import format_log10, format_magnitude, format_value

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.34867844010000004, "0.349"),
        (0.00515377520732012, "0.00515"),
        (0.000797922662976121, "0.000798"),
        (9.5367431640625e-07, "9.54e-7"),
        (7.178979876918526e-27, "7.18e-27"),
        (1.0, "1.00"),
        (12.34, "12.3"),
        (123.4, "123"),
        (999.5, "1.00e+3"),
        (1234.0, "1.23e+3"),
        (1e-4, "0.000100"),
        (9.9999e-5, "0.000100"),  # the exponent is taken after rounding
        (9.9949e-5, "9.99e-5"),
        (-0.0625, "-0.0625"),
        (0.0, "0"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (math.nan, "nan"),
    ],
)
def test_format_value_follows_the_documented_rule(value, text):
    assert format_value(value) == text


def test_exact_ties_round_half_away_from_zero_like_javascript():
    # 3.375 and 1.125 are exact doubles sitting on a tie; Python's "%.3g" would round to even
    assert format_value(3.375) == "3.38"
    assert format_value(1.125) == "1.13"
    assert format_value(-1.125) == "-1.13"
    assert f"{1.125:.3g}" == "1.12"  # what the rule deliberately does not do


def test_values_just_below_a_tie_round_down():
    assert format_value(9.995) == "9.99"  # the double 9.995 is 9.99499999...


def test_log10_path_formats_magnitudes_beyond_the_double_range():
    assert format_log10(1000 * math.log10(0.3)) == "1.32e-523"
    assert format_log10(2000 * math.log10(2.0)) == "1.15e+602"
    assert format_log10(-math.inf) == "0"
    assert format_log10(math.log10(0.349)) == "0.349"


def test_log10_path_carries_a_mantissa_that_rounds_up_to_ten():
    assert format_log10(-400 + math.log10(9.9996)) == "1.00e-399"


def test_format_magnitude_prefers_the_double_when_it_is_normal():
    assert format_magnitude(0.5, math.log10(0.5)) == "0.500"
    assert format_magnitude(0.0, -400.0) == "1.00e-400"


JS = r"""
function formatValue(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const [m, ex] = Math.abs(x).toExponential(2).split("e");
  const e = Number(ex), d = m.replace(".", ""), sign = x < 0 ? "-" : "";
  if (e < -4 || e > 2) return `${sign}${m}e${e < 0 ? "-" : "+"}${Math.abs(e)}`;
  if (e >= 0) return sign + d.slice(0, e + 1) + (e < 2 ? "." + d.slice(e + 1) : "");
  return `${sign}0.${"0".repeat(-e - 1)}${d}`;
}
const xs = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(xs.map(formatValue)));
"""


def test_the_documented_javascript_port_prints_the_same_digits():
    from playwright.sync_api import sync_playwright

    rng = random.Random(0)
    values = [1.125, 3.375, 999.5, 9.995, 1e-4, -0.000798, 5e-324, 1e300]
    for _ in range(3000):
        values.append(rng.uniform(0.3, 1.7) ** rng.randint(1, 120))
        values.append(rng.randint(1, 99999) / 2 ** rng.randint(0, 16))  # dyadic: exact ties
        values.append(10 ** rng.uniform(-30, 30) * rng.choice([1, -1]))
    port = JS.split("const xs")[0]
    with sync_playwright() as p:  # the browser the web lab runs in (make test installs it)
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            printed = page.evaluate(f"xs => {{ {port}; return xs.map(formatValue); }}", values)
        finally:
            browser.close()
    assert printed == [format_value(v) for v in values]


def test_docstring_carries_the_javascript_port_verbatim():
    body = JS.split("const xs")[0].strip()
    doc = "\n".join(line.strip() for line in format_value.__doc__.splitlines())
    assert "\n".join(line.strip() for line in body.splitlines()) in doc
