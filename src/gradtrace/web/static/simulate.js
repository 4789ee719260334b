// The simulator's arithmetic, ported line by line from gradtrace.simulate (formatting.py,
// decay.py, layers.py) so that the browser prints exactly what `gradtrace simulate` prints.
// Pure functions only; tests call them through window.GTSim.
"use strict";

(function (root) {
  var SAFE_LOG10 = 307;           // decay.SAFE_LOG10
  var FIXED_MIN = -4, FIXED_MAX = 2;  // formatting.FIXED_MIN / FIXED_MAX
  var SEED_FACTORS = [0.9, 0.7, 0.5, 0.3];
  var SEED_STEPS = [10, 20, 50];
  // sup |phi'(a)| per activation (gradtrace.simulate.activations); "linear" is 1.
  var PEAK_DERIVATIVE = {linear: 1, tanh: 1, sigmoid: 0.25, relu: 1, leaky_relu: 1};

  // formatting.format_value: 3 significant digits, fixed for 1e-4 <= |x| < 1e3.
  function formatValue(x) {
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    var parts = Math.abs(x).toExponential(2).split("e");
    var m = parts[0], e = Number(parts[1]), d = m.replace(".", ""), sign = x < 0 ? "-" : "";
    if (e < FIXED_MIN || e > FIXED_MAX) return sign + m + "e" + (e < 0 ? "-" : "+") + Math.abs(e);
    if (e >= 0) return sign + d.slice(0, e + 1) + (e < 2 ? "." + d.slice(e + 1) : "");
    return sign + "0." + "0".repeat(-e - 1) + d;
  }

  // formatting.format_log10: 10**log10 printed like formatValue, beyond the double range too.
  function formatLog10(log10) {
    if (Number.isNaN(log10)) return "nan";
    if (log10 === -Infinity) return "0";
    if (log10 === Infinity) return "inf";
    if (log10 > -300 && log10 < 300) return formatValue(Math.pow(10, log10));
    var exponent = Math.floor(log10);
    var mantissa = formatValue(Math.pow(10, log10 - exponent));
    if (mantissa === "10.0") { mantissa = "1.00"; exponent += 1; }
    return mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.abs(exponent);
  }

  // formatting.format_param for the slider's values (shortest round-trip form).
  function formatParam(x) { return String(x); }

  // decay.magnitude: [value or null, log10, text] of factor**steps.
  function magnitude(factor, steps) {
    var log10 = steps * Math.log10(factor);
    if (Math.abs(log10) < SAFE_LOG10) {
      var value = Math.pow(factor, steps);
      return [value, log10, formatValue(value)];
    }
    return [null, log10, formatLog10(log10)];
  }

  function regimeOf(factor) { return factor < 1 ? "vanishing" : factor > 1 ? "exploding" : "constant"; }

  // decay.steps_until: first whole step past ln(eps)/ln(factor) (growth: ln(1/eps)/ln(factor)).
  function stepsUntil(factor, eps) {
    var regime = regimeOf(factor);
    if (regime === "constant") return {regime: regime, exact: null, steps: null};
    var target = regime === "vanishing" ? Math.log(eps) : -Math.log(eps);
    var exact = target / Math.log(factor);
    return {regime: regime, exact: exact, steps: Math.floor(exact) + 1};
  }

  // The decay curve g_k = factor**k for k = 0..steps.
  function decayCurve(factor, steps) {
    var out = [];
    for (var k = 0; k <= steps; k++) out.push(magnitude(factor, k));
    return out;
  }

  // layers.layer_gradients: gradient at layer i = 1..L relative to layer L is w**(L - i).
  function layerGradients(w, numLayers, band) {
    band = band || 10;
    var layers = [];
    for (var layer = 1; layer <= numLayers; layer++) {
      var m = magnitude(w, numLayers - layer);
      layers.push({layer: layer, exponent: numLayers - layer, value: m[0], log10: m[1], text: m[2]});
    }
    return {layers: layers, verdict: layerVerdict(layers[0].log10, band)};
  }

  // layers.layer_verdict: compare log10(ratio) with +-log10(band).
  function layerVerdict(ratioLog10, band) {
    var limit = Math.log10(band || 10);
    if (ratioLog10 < -limit) return "vanishing";
    if (ratioLog10 > limit) return "exploding";
    return "stable";
  }

  root.GTSim = {
    formatValue: formatValue, formatLog10: formatLog10, formatParam: formatParam,
    magnitude: magnitude, regimeOf: regimeOf, stepsUntil: stepsUntil, decayCurve: decayCurve,
    layerGradients: layerGradients, layerVerdict: layerVerdict,
    SEED_FACTORS: SEED_FACTORS, SEED_STEPS: SEED_STEPS, PEAK_DERIVATIVE: PEAK_DERIVATIVE,
  };
})(window);
