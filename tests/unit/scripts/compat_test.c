/* compat_test.c - the `let` to `var` rewrite (services/scripts/compat.c).
 *
 * Declarations are rewritten in place with the same length; strings,
 * template literals, comments, regular expressions, property names and
 * `let` used as an identifier are left alone.
 */
#include <stdlib.h>
#include <string.h>

#include "scr.h"
#include "test.h"

static char *
rewrite(const char *in, int *count)
{
    char *s = strdup(in);

    *count = scr_compat_let(s, strlen(s));
    return s;
}

static void
check(const char *in, const char *want, int want_count, const char *what)
{
    int n;
    char *out = rewrite(in, &n);

    CHECK_STR(out, want, what);
    CHECK_EQ(n, want_count, what);
    free(out);
}

int
main(void)
{
    check("let x = 1;", "var x = 1;", 1, "plain declaration");
    check("for (let i = 0; i < 2; i++) {}", "for (var i = 0; i < 2; i++) {}", 1, "for loop");
    check("let [a, b] = f(); let {c} = g();", "var [a, b] = f(); var {c} = g();", 2,
          "destructuring");
    check("  let\n  y = 2;", "  var\n  y = 2;", 1, "newline after let");
    check("var s = 'let x = 1'; var t = \"let y\";", "var s = 'let x = 1'; var t = \"let y\";", 0,
          "inside strings");
    check("// let x\n/* let y */ let z;", "// let x\n/* let y */ var z;", 1, "comments");
    check("var r = /let x/g; let q = 1;", "var r = /let x/g; var q = 1;", 1, "regex literal");
    check("var r = a / let / b;", "var r = a / let / b;", 0, "division, let as identifier");
    check("obj.let = 1; obj.let x;", "obj.let = 1; obj.let x;", 0, "property name");
    check("let = 5; let(1);", "let = 5; let(1);", 0, "let as a variable");
    check("var t = `a ${ {let: 1}.let } let x`; let w;",
          "var t = `a ${ {let: 1}.let } let x`; var w;", 1, "template literal with substitution");
    check("outlet x; letter y;", "outlet x; letter y;", 0, "let inside longer words");
    check("if (x) return /let a/.test(s); let b;", "if (x) return /let a/.test(s); var b;", 1,
          "regex after return");
    check("'unterminated", "'unterminated", 0, "unterminated string is safe");
    check("let", "let", 0, "let at the end");
    return test_done();
}
