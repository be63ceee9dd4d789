import type { DType } from '../tensor/dtype.js';

/**
 * Element types of kernel templates. A kernel whose operands may be float16 declares each choosable storage type
 * as an alias with its float32 default (`alias AT = f32;`), loads through a conversion to f32 (`f32(a[i])`,
 * `vec4<f32>(a[i])`) and stores through the alias (`c[i] = CT(v)`), so the file is valid f32 WGSL as written and
 * all arithmetic stays f32 whatever the storage. `withTypes` swaps the named aliases to f16 and adds the
 * `enable f16;` directive: one kernel source serves every mix of f16 and f32 operands.
 */
const cache = new Map<string, Map<string, string>>();

export function withTypes(template: string, types: Readonly<Record<string, DType>>): string {
  const half = Object.keys(types)
    .filter((k) => types[k] === 'float16')
    .sort();
  for (const k of Object.keys(types)) {
    if (types[k] !== 'float16' && types[k] !== 'float32') throw new Error(`internal: kernel element type ${k} cannot be ${types[k]}`);
  }
  if (!half.length) return template;
  let byTypes = cache.get(template);
  if (!byTypes) cache.set(template, (byTypes = new Map()));
  const key = half.join();
  let s = byTypes.get(key);
  if (!s) {
    s = template;
    for (const name of half) {
      const decl = `alias ${name} = f32;`;
      if (!s.includes(decl)) throw new Error(`internal: kernel template declares no '${decl}'`);
      s = s.replace(decl, `alias ${name} = f16;`);
    }
    // Directives must precede every declaration; comments before them are fine.
    s = `enable f16;\n${s}`;
    byTypes.set(key, s);
  }
  return s;
}
