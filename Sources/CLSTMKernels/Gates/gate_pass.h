/* The default LSTM gate pass (sigmoid, tanh, tanh) written once over a vector of W float lanes;
   included by each instruction set's file after it defines:
     VF, W                 the vector type and its lane count
     LOAD(p) STORE(p, v)   unaligned load / store
     SET1(x) ADD MUL SUB DIV MIN MAX FMADD(a, b, c) = a·b + c, FNMADD(a, b, c) = c − a·b
     ROUND(v)              to the nearest integer, as a float vector
     POW2(n)               2ⁿ for a float vector of integers n in [−126, 127]
     SELECT_ABS_LT(x, t, a, b)   |x| < t ? a : b, lane by lane
     KEEP_NAN(r, x)        r, with x's NaN lanes NaN
     GATE_UNITS            the name of the exported function
     TARGET                the function attribute of the instruction set

   exp follows Cephes expf: x clamped to [−87.3, 88], n = round(x / ln 2), r = x − n·ln 2 (two
   parts), degree-6 polynomial, times 2ⁿ (about 1 ulp). tanh: Cephes tanhf's odd polynomial for
   |x| < 0.625, 1 − 2/(e^{2x} + 1) above. sigmoid: 1/(1 + e^{−x}). NaN stays NaN. */

#include <math.h>

TARGET static inline VF vexp(VF v) {
    VF x = MIN(MAX(v, SET1(-87.3f)), SET1(88.0f));
    VF n = ROUND(MUL(x, SET1(1.44269504f)));
    VF r = FNMADD(n, SET1(0.693359375f), x);
    r = FNMADD(n, SET1(-2.12194440e-4f), r);
    VF z = MUL(r, r);
    VF y = SET1(1.9875691500e-4f);
    y = FMADD(y, r, SET1(1.3981999507e-3f));
    y = FMADD(y, r, SET1(8.3334519073e-3f));
    y = FMADD(y, r, SET1(4.1665795894e-2f));
    y = FMADD(y, r, SET1(1.6666665459e-1f));
    y = FMADD(y, r, SET1(5.0000001201e-1f));
    y = FMADD(y, z, ADD(r, SET1(1.0f)));
    return MUL(y, POW2(n));
}

TARGET static inline VF vsigmoid(VF x) {
    VF one = SET1(1.0f);
    return KEEP_NAN(DIV(one, ADD(one, vexp(SUB(SET1(0.0f), x)))), x);
}

TARGET static inline VF vtanh(VF x) {
    VF one = SET1(1.0f);
    VF z = MUL(x, x);
    VF p = SET1(-5.70498872745e-3f);
    p = FMADD(p, z, SET1(2.06390887954e-2f));
    p = FMADD(p, z, SET1(-5.37397155531e-2f));
    p = FMADD(p, z, SET1(1.33314422036e-1f));
    p = FMADD(p, z, SET1(-3.33332819422e-1f));
    VF small = FMADD(MUL(p, z), x, x);
    VF large = SUB(one, DIV(SET1(2.0f), ADD(vexp(ADD(x, x)), one)));
    return KEEP_NAN(SELECT_ABS_LT(x, SET1(0.625f), small, large), x);
}

static inline float sigmoid1(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

TARGET static void gates_row(long count, long H, float *g, float *c, float *h) {
    long j = 0;
    for (; j + W <= count; j += W) {
        VF i = vsigmoid(LOAD(g + j));
        VF f = vsigmoid(LOAD(g + H + j));
        VF gg = vtanh(LOAD(g + 2 * H + j));
        VF o = vsigmoid(LOAD(g + 3 * H + j));
        VF cn = FMADD(f, LOAD(c + j), MUL(i, gg));
        STORE(c + j, cn);
        STORE(h + j, MUL(o, vtanh(cn)));
    }
    for (; j < count; j++) {
        float i = sigmoid1(g[j]), f = sigmoid1(g[H + j]), gg = tanhf(g[2 * H + j]), o = sigmoid1(g[3 * H + j]);
        float cn = f * c[j] + i * gg;
        c[j] = cn;
        h[j] = o * tanhf(cn);
    }
}

void GATE_UNITS(long rows, long count, long stride, float *gates, long ldg, float *c, long ldc, float *h, long ldh) {
    for (long r = 0; r < rows; r++) gates_row(count, stride, gates + r * ldg, c + r * ldc, h + r * ldh);
}
