/* einsum.c - Einsum's equation (see einsum.h): explicit ("ij,jk->ik") or
 * implicit (the output: the ellipsis dims, then the labels used once, in
 * alphabetical order), spaces ignored, repeated labels (diagonals) and
 * broadcasting ellipsis dims allowed. */
#include <string.h>

#include "ops/einsum.h"

static int label(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

/* One operand's labels from [s, end): codes with -2 where the ellipsis is. */
static bool operand(const char *s, const char *end, int *codes, int *count, bool *ell)
{
    *count = 0;
    *ell = false;
    while (s < end) {
        if (*s == ' ') {
            s++;
        } else if (*s == '.') {
            if (end - s < 3 || s[1] != '.' || s[2] != '.' || *ell || *count >= LOOM_MAX_RANK)
                return false;
            *ell = true;
            codes[(*count)++] = -2;
            s += 3;
        } else {
            int l = label(*s++);
            if (l < 0 || *count >= LOOM_MAX_RANK)
                return false;
            codes[(*count)++] = l;
        }
    }
    return true;
}

/* Expand the ellipsis of an operand of the given rank into ellipsis codes. */
static bool expand(const int *codes, int count, bool ell, int rank, int ell_rank, int *out)
{
    int k = 0, n_ell = ell ? rank - (count - 1) : 0;
    if ((!ell && count != rank) || n_ell < 0 || n_ell > ell_rank)
        return false;
    for (int i = 0; i < count; i++) {
        if (codes[i] != -2) {
            out[k++] = codes[i];
            continue;
        }
        for (int j = 0; j < n_ell; j++)
            out[k++] = 52 + (ell_rank - n_ell) + j;
    }
    return true;
}

bool loom__einsum_parse(const char *eq, int n_in, const int *ranks, const int64_t *const *dims, loom__einsum *e,
                        const char **why)
{
    const char *arrow = strstr(eq, "->"), *lhs_end = arrow ? arrow : eq + strlen(eq), *s = eq;
    int raw[LOOM__EINSUM_MAX_IN][LOOM_MAX_RANK], cnt[LOOM__EINSUM_MAX_IN], ell_rank = 0, uses[LOOM__EINSUM_CODES] = {0};
    bool ell[LOOM__EINSUM_MAX_IN];
    int k = 0;
    bool more = false;

    memset(e, 0, sizeof *e);
    *why = "the equation is malformed";
    if (n_in < 1 || n_in > LOOM__EINSUM_MAX_IN)
        return *why = "1 to 8 operands", false;
    e->n_in = n_in;
    while (k < n_in) {
        const char *comma = memchr(s, ',', (size_t)(lhs_end - s)), *end = comma ? comma : lhs_end;
        if (!operand(s, end, raw[k], &cnt[k], &ell[k]))
            return false;
        if (ell[k] && ranks[k] - (cnt[k] - 1) > ell_rank)
            ell_rank = ranks[k] - (cnt[k] - 1);
        k++;
        more = comma != NULL;
        if (!comma)
            break;
        s = comma + 1;
    }
    if (k != n_in || more)
        return *why = "the equation's operands do not match the inputs", false;
    for (int c = 0; c < LOOM__EINSUM_CODES; c++)
        e->size[c] = -1;
    for (int i = 0; i < n_in; i++) {
        if (!expand(raw[i], cnt[i], ell[i], ranks[i], ell_rank, e->code[i]))
            return *why = "an operand's labels do not match its rank", false;
        e->rank[i] = ranks[i];
        for (int d = 0; d < ranks[i]; d++) {
            int c = e->code[i][d];
            int64_t sz = dims[i][d];
            uses[c]++;
            if (c >= 52 && sz == 1 && e->size[c] != -1)
                continue; /* an ellipsis dim of 1 broadcasts */
            if (e->size[c] != -1 && e->size[c] != sz && !(c >= 52 && e->size[c] == 1))
                return *why = "a label has two different sizes", false;
            e->size[c] = sz;
        }
    }
    if (arrow) {
        int oc[LOOM_MAX_RANK], on;
        bool oell;
        if (!operand(arrow + 2, arrow + strlen(arrow), oc, &on, &oell) ||
            !expand(oc, on, oell, oell ? on - 1 + ell_rank : on, ell_rank, e->out_code))
            return false;
        e->out_rank = oell ? on - 1 + ell_rank : on;
        for (int d = 0; d < e->out_rank; d++)
            if (e->out_code[d] < 52 && !uses[e->out_code[d]])
                return *why = "an output label is in no operand", false;
    } else {
        for (int j = 0; j < ell_rank; j++)
            e->out_code[e->out_rank++] = 52 + j;
        for (int c = 0; c < 52; c++)
            if (uses[c] == 1) {
                if (e->out_rank >= LOOM_MAX_RANK)
                    return *why = "the output has too many dims", false;
                e->out_code[e->out_rank++] = c;
            }
    }
    return true;
}
