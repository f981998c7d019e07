#!/usr/bin/env node
// The package ships compiled JavaScript (dist/, built by `npm run build`); no loader at run time.
await import('../dist/main.js');
