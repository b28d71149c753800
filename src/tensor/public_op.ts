/**
 * Note [Public op names]: an Error must name the op the user called, not the op that happened to
 * fail inside it (`mseLoss` computes `sub`; `zeros` runs the native FILL kernel; `sqrt` of an int32
 * tensor first casts it). Every public function without a user callback is exported wrapped by
 * {@link publicOp}: an Error thrown inside it that names another op is renamed on its way out,
 * `sub: shapes [2] and [3] cannot be broadcast together` becoming `mseLoss: shapes [2] and [3]
 * cannot be broadcast together (in sub)` (a native op's upper-case name is dropped). Only plain
 * `Error`s are renamed: a TypeError or RangeError is a bug to fix, not a message to dress up.
 * Functions that call user code (tidy, grad's relatives vjp, jvp, hvp...) are not wrapped, since
 * an error inside the user's function must keep the name of the op that failed there; they
 * validate their own arguments instead.
 */

const PREFIX = /^([A-Za-z_][\w.]*): ([\s\S]*)$/;
const FINAL = Symbol('metagrad.finalName');

/**
 * Marks `e` as naming the right thing already (a mode such as detectAnomaly, whose report names
 * the op it caught), so no enclosing public op renames it. Returns `e`.
 */
export function finalName<E extends Error>(e: E): E {
  (e as unknown as Record<symbol, boolean>)[FINAL] = true;
  return e;
}

/** Rewrites `e`'s message to name `op` (Note [Public op names]); returns `e`. */
export function renameError(e: unknown, op: string): unknown {
  if (!(e instanceof Error) || e.constructor !== Error || (e as unknown as Record<symbol, boolean>)[FINAL]) return e;
  const m = e.message;
  if (m.startsWith(`${op}: `)) return e;
  const p = PREFIX.exec(m);
  const msg = p === null ? `${op}: ${m}` : /^[A-Z0-9_]+$/.test(p[1]) ? `${op}: ${p[2]}` : `${op}: ${p[2]} (in ${p[1]})`;
  e.message = msg;
  if (typeof e.stack === 'string') e.stack = e.stack.replace(m, msg);
  return e;
}

/** `fn` under the public name `op`: errors thrown inside it name `op` (Note [Public op names]). */
export function publicOp<F extends (...args: never[]) => unknown>(op: string, fn: F): F {
  const wrapped = function (this: unknown, ...args: Parameters<F>): ReturnType<F> {
    try {
      return fn.apply(this, args) as ReturnType<F>;
    } catch (e) {
      throw renameError(e, op);
    }
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name || op });
  return wrapped as unknown as F;
}
