// The compile cache is made with the node option of /init's #! line, as the kernel runs it (build/compile-cache.ts).
import t from 'tap';
import { shebangOption } from '../../build/compile-cache';

t.test("the #! line's one option, as Linux passes it: all after the interpreter, as one argument", async (t) => {
  t.same(shebangOption(Buffer.from('#!/bin/node --optimize-for-size\n"use strict";')), ['--optimize-for-size']);
  t.same(shebangOption(Buffer.from('#! /bin/node  --a --b  \nx')), ['--a --b'], 'one argument, spaces inside kept, ends trimmed');
  t.same(shebangOption(Buffer.from('#!/bin/node\nx')), [], 'none');
  t.same(shebangOption(Buffer.from('#!/bin/node   \nx')), [], 'only spaces');
  t.same(shebangOption(Buffer.from('"use strict";')), [], 'no #! line');
});
