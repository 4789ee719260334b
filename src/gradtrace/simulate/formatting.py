"""The one number format of every simulate table, written so that a browser can reproduce it."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

SIGNIFICANT = 3
# fixed notation for decimal exponents in [FIXED_MIN, FIXED_MAX], i.e. 0.0001 <= |x| < 1000
FIXED_MIN = -4
FIXED_MAX = 2


def format_value(x: float) -> str:
    """Format a number with 3 significant digits, the way every simulate table prints it.

    Rule (port it literally; a JavaScript version is below):
      1. nan -> "nan", +inf -> "inf", -inf -> "-inf", 0 -> "0".
      2. Round |x| to 3 significant digits, half away from zero, on the exact binary value of
         the double (what JavaScript's ``toExponential(2)`` does). This gives digits "d.dd"
         and a decimal exponent e (after rounding, so 999.6 -> "1.00", e = 3).
      3. If -4 <= e <= 2, write it in fixed notation with the 3 digits kept, trailing zeros
         included: 0.349, 0.00515, 0.000798, 1.00, 12.3, 123.
         Otherwise write "d.dde-N" or "d.dde+N" with no leading zeros in the exponent:
         9.54e-7, 7.18e-27, 1.00e+3.
      4. Prefix "-" for negative x.

    JavaScript::

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
    """
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    exact = Decimal(abs(float(x)))  # the double's exact binary value, no rounding yet
    exponent = exact.adjusted()
    rounded = exact.quantize(Decimal(1).scaleb(exponent - SIGNIFICANT + 1), ROUND_HALF_UP)
    digits = int(rounded.scaleb(SIGNIFICANT - 1 - exponent))
    if digits >= 10**SIGNIFICANT:  # 9.995 -> 10.0: carry into the exponent
        digits //= 10
        exponent += 1
    return ("-" if x < 0 else "") + _layout(str(digits), exponent)


def format_log10(log10_value: float) -> str:
    """Format 10**log10_value with the rule of ``format_value``, also beyond the float64 range.

    Used for magnitudes such as 0.3**1000 that no double can hold: the exponent is
    floor(log10_value) and the digits are those of the mantissa 10**(log10_value - exponent),
    rounded by ``format_value``'s rule (a mantissa that rounds to 10.00 carries into the exponent).
    -inf (a magnitude of exactly zero) prints "0"; nan prints "nan".
    """
    if math.isnan(log10_value):
        return "nan"
    if log10_value == -math.inf:
        return "0"
    if log10_value == math.inf:
        return "inf"
    if -300.0 < log10_value < 300.0:
        return format_value(10.0**log10_value)
    exponent = math.floor(log10_value)
    mantissa = format_value(10.0 ** (log10_value - exponent))  # "d.dd" or "10.0"
    if mantissa == "10.0":
        mantissa, exponent = "1.00", exponent + 1
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent)}"


def format_magnitude(value: float, log10_value: float) -> str:
    """Format a positive magnitude known as a double (when representable) and as a log10."""
    if math.isfinite(value) and value >= 2.2250738585072014e-308:
        return format_value(value)
    return format_log10(log10_value)


def format_param(x: float) -> str:
    """Format a parameter the user typed (a factor, a weight scale): shortest exact form."""
    return repr(float(x)).removesuffix(".0") if float(x).is_integer() else repr(float(x))


def _layout(digits: str, exponent: int) -> str:
    """Place the decimal point in 3 significant ``digits`` times 10**exponent (see the rule)."""
    if exponent < FIXED_MIN or exponent > FIXED_MAX:
        sign = "-" if exponent < 0 else "+"
        return f"{digits[0]}.{digits[1:]}e{sign}{abs(exponent)}"
    if exponent >= 0:
        whole, fraction = digits[: exponent + 1], digits[exponent + 1 :]
        return f"{whole}.{fraction}" if fraction else whole
    return "0." + "0" * (-exponent - 1) + digits
