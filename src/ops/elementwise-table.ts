/**
 * Elementwise ops as data. Each entry is a WGSL expression for the forward and one per input for the backward;
 * `map-kernel.ts` turns each expression into a kernel. Names inside expressions:
 *   unary:  x (input), y (output), g (gradient of y), s0/s1 (scalar parameters)
 *   binary: a, b (inputs), y, g
 * Helper functions (erf_, tanh_, sigmoid_, pow_, is_nan_, gelu_tanh_, gelu_tanh_grad_) live in shaders/map.wgsl.
 * A new unary op is one line here plus its method name in unary.ts.
 * WGSL's max/min/clamp leave NaN inputs undefined (lavapipe returns the other operand); the ops built on them
 * select NaN explicitly so a NaN is never silently turned into a number, as in NumPy and PyTorch.
 */
export interface UnarySpec {
  fwd: string;
  /** Gradient of the input; omitted for ops with no useful gradient. */
  bwd?: string;
}

export const UNARY = {
  neg: { fwd: '-x', bwd: '-g' },
  exp: { fwd: 'exp(x)', bwd: 'g * y' },
  log: { fwd: 'log(x)', bwd: 'g / x' },
  sqrt: { fwd: 'sqrt(x)', bwd: 'g * 0.5 / y' },
  rsqrt: { fwd: 'inverseSqrt(x)', bwd: '-0.5 * g * y * y * y' },
  abs: { fwd: 'abs(x)', bwd: 'g * sign(x)' },
  sign: { fwd: 'sign(x)' },
  square: { fwd: 'x * x', bwd: '2.0 * g * x' },
  reciprocal: { fwd: '1.0 / x', bwd: '-g * y * y' },
  sin: { fwd: 'sin(x)', bwd: 'g * cos(x)' },
  cos: { fwd: 'cos(x)', bwd: '-g * sin(x)' },
  tanh: { fwd: 'tanh_(x)', bwd: 'g * (1.0 - y * y)' },
  sigmoid: { fwd: 'sigmoid_(x)', bwd: 'g * y * (1.0 - y)' },
  // PyTorch's threshold_backward: the gradient passes unless x <= 0, so a NaN input passes it on.
  relu: { fwd: 'select(max(x, 0.0), x, is_nan_(x))', bwd: 'select(g, 0.0, x <= 0.0)' },
  silu: { fwd: 'x * sigmoid_(x)', bwd: 'g * (sigmoid_(x) * (1.0 + x * (1.0 - sigmoid_(x))))' },
  gelu: { fwd: '0.5 * x * (1.0 + erf_(x * SQRT_HALF))', bwd: 'g * (0.5 * (1.0 + erf_(x * SQRT_HALF)) + x * INV_SQRT_2PI * exp(-0.5 * x * x))' },
  geluTanh: { fwd: 'gelu_tanh_(x)', bwd: 'g * gelu_tanh_grad_(x)' },
  softplus: { fwd: 'max(x, 0.0) + log(1.0 + exp(-abs(x)))', bwd: 'g * sigmoid_(x)' },
  // Scalar-parameter ops (s0, s1 come from the call).
  // x^0 has gradient 0 everywhere, x = 0 included (PyTorch's pow_backward), not 0·0^-1 = NaN.
  powScalar: { fwd: 'pow_(x, s0)', bwd: 'select(g * s0 * pow_(x, s0 - 1.0), 0.0, s0 == 0.0)' },
  clamp: { fwd: 'select(clamp(x, s0, s1), x, is_nan_(x))', bwd: 'select(0.0, g, x >= s0 && x <= s1)' },
  addScalar: { fwd: 'x + s0', bwd: 'g' },
  mulScalar: { fwd: 'x * s0', bwd: 'g * s0' },
  rsubScalar: { fwd: 's0 - x', bwd: '-g' },
  rdivScalar: { fwd: 's0 / x', bwd: '-g * y / x' },
  // x reduced to [0, 2π): sin/cos builtins are only accurate near zero on some drivers (lavapipe, SwiftShader).
  wrapPhase: { fwd: 'x - 6.283185307179586 * floor(x * 0.15915494309189535)', bwd: 'g' },
  isfinite: { fwd: 'select(0.0, 1.0, abs(x) <= 3.4028234e38)' },
} satisfies Record<string, UnarySpec>;

export type UnaryName = keyof typeof UNARY;

export interface BinarySpec {
  fwd: string;
  /** Gradients of a and b at the broadcast shape (reduced back to each input's shape afterwards). */
  bwd?: [string, string];
}

export const BINARY = {
  add: { fwd: 'a + b', bwd: ['g', 'g'] },
  sub: { fwd: 'a - b', bwd: ['g', '-g'] },
  mul: { fwd: 'a * b', bwd: ['g * b', 'g * a'] },
  // d/db as PyTorch: -g·(a/b)/b, which neither overflows nor underflows in b·b.
  div: { fwd: 'a / b', bwd: ['g / b', '-g * y / b'] },
  // Gradients as PyTorch's: a tie splits g in halves; with a NaN on either side both inputs get g.
  maximum: { fwd: 'select(max(a, b), a + b, is_nan_(a) || is_nan_(b))', bwd: ['select(select(g, 0.0, a < b), 0.5 * g, a == b)', 'select(select(g, 0.0, a > b), 0.5 * g, a == b)'] },
  minimum: { fwd: 'select(min(a, b), a + b, is_nan_(a) || is_nan_(b))', bwd: ['select(select(g, 0.0, a > b), 0.5 * g, a == b)', 'select(select(g, 0.0, a < b), 0.5 * g, a == b)'] },
  // As PyTorch's pow_backward_self / _exponent: d/da is 0 where b = 0 (0^0 included); d/db is 0 where a = 0 and
  // b >= 0, -inf·g where a = 0 and b < 0, and NaN for a < 0 (log of a negative), even where a^b is defined.
  pow: { fwd: 'pow_(a, b)', bwd: ['select(g * b * pow_(a, b - 1.0), 0.0, b == 0.0)', 'select(g * y * log(a), 0.0, a == 0.0 && b >= 0.0)'] },
  gt: { fwd: 'select(0.0, 1.0, a > b)' },
  ge: { fwd: 'select(0.0, 1.0, a >= b)' },
  lt: { fwd: 'select(0.0, 1.0, a < b)' },
  le: { fwd: 'select(0.0, 1.0, a <= b)' },
  eq: { fwd: 'select(0.0, 1.0, a == b)' },
  ne: { fwd: 'select(0.0, 1.0, a != b)' },
} satisfies Record<string, BinarySpec>;

export type BinaryName = keyof typeof BINARY;

/** Which of the named variables an expression reads, so kernels bind (and backward saves) only those. */
export function usedVars(expr: string, candidates: readonly string[]): string[] {
  return candidates.filter((v) => new RegExp(`\\b${v}\\b`).test(expr));
}
