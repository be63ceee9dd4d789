import { noGrad, freeNode } from './graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { shapeStr, sameShape } from '../tensor/shape.js';
import { gradSlotOf, nextBackwardEpoch } from './grad-slot.js';

/** Topological order of the tensors `root` depends on through recorded ops (root last). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: UNet graphs are thousands of ops deep, too deep for recursion.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const inp of t.gradFn?.inputs ?? []) if (inp?.requiresGrad && !seen.has(inp)) stack.push([inp, false]);
  }
  return order;
}

export interface BackwardOptions {
  /** Gradient of the output (default: ones; required for non-scalar outputs). */
  grad?: Tensor;
  /** Keep saved tensors so backward can run again through the same graph. */
  retainGraph?: boolean;
}

/**
 * Reverse-mode accumulation: walks the tape from `root`, calls each op's backward rule, sums gradients that
 * meet at a tensor, and adds the results into leaves' `.grad` (accumulating across calls, as PyTorch does).
 * Gradients of intermediate tensors are freed as soon as they have been propagated.
 */
export async function backward(root: Tensor, opts: BackwardOptions = {}): Promise<void> {
  if (!root.requiresGrad) throw new Error('backward(): this tensor does not require a gradient (no input of it has requiresGrad)');
  const { ones } = await import('../ops/creation.js');
  const copies = await import('../ops/copy.js');
  if (!opts.grad && root.size !== 1) {
    throw new Error(`backward(): output has shape ${shapeStr(root.shape)}; pass { grad } for a non-scalar output`);
  }
  if (opts.grad && !sameShape(opts.grad.shape, root.shape)) {
    throw new Error(`backward(): grad has shape ${shapeStr(opts.grad.shape)} but the output has shape ${shapeStr(root.shape)}`);
  }
  nextBackwardEpoch();
  noGrad(() => {
    const order = topoOrder(root);
    const grads = new Map<Tensor, Tensor>();
    // The caller keeps ownership of opts.grad: the walk uses its own handle (a view), which it may dispose or hand
    // to a leaf as its .grad.
    const seed = opts.grad;
    grads.set(root, seed ? seed.view(seed.shape, seed.strides, seed.offset, false) : ones(root.shape));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.gradFn;
      if (!node) {
        accumulateLeaf(t, g, copies);
        continue;
      }
      if (node.freed) {
        throw new Error(`backward(): the graph through '${node.name}' was already freed by an earlier backward(); pass { retainGraph: true } to the first call`);
      }
      // Gradients already collected for an input, which the rule's kernel may add into (see BackwardFn). An input
      // listed twice (add(x, x)) gets none: the rule would add into it twice.
      const acc = node.inputs.map((inp, k) => {
        const prev = inp && node.inputs.indexOf(inp) === k && node.inputs.lastIndexOf(inp) === k ? grads.get(inp) : undefined;
        return prev && prev.dtype === 'float32' && ownsDense(prev, prev) ? prev : null;
      });
      const raw = node.backward(g, node.saved, acc);
      // A rule may hand back `g` itself or one tensor for two inputs (add(x, x)): give each use its own handle.
      const used = new Set<Tensor>();
      const inGrads = raw.map((gi, k) => {
        if (!gi || (acc[k] && gi === acc[k])) return null;
        if (gi === g || used.has(gi)) return gi.view(gi.shape, gi.strides, gi.offset);
        used.add(gi);
        return gi;
      });
      g.dispose();
      node.inputs.forEach((inp, k) => {
        const gi = inGrads[k];
        if (!gi) return;
        if (!inp || !inp.requiresGrad) {
          gi.dispose();
          return;
        }
        if (!sameShape(gi.shape, inp.shape)) {
          throw new Error(`internal: backward of '${node.name}' gave input ${k} a gradient of shape ${shapeStr(gi.shape)}, expected ${shapeStr(inp.shape)}`);
        }
        const prev = grads.get(inp);
        if (prev && ownsDense(prev, gi)) {
          copies.accumulateInto(prev, gi);
          gi.dispose();
        } else if (prev) {
          grads.set(inp, prev.add(gi));
          prev.dispose();
          gi.dispose();
        } else grads.set(inp, gi);
      });
      if (!opts.retainGraph) freeNode(node);
    }
  });
  await root.device.sync();
}

/** Whether `acc` may take `g` added in place: dense, alone on its storage (no view shares it), of g's type. */
function ownsDense(acc: Tensor, g: Tensor): boolean {
  return acc.isContiguous && acc.dtype === g.dtype && acc.storage.refCount === 1 && !acc.requiresGrad;
}

type Copies = typeof import('../ops/copy.js');

function accumulateLeaf(t: Tensor, g: Tensor, { copyInto, accumulateInto }: Copies): void {
  const slot = gradSlotOf(t);
  if (slot && g.dtype === t.dtype) {
    // The optimizer keeps this gradient in its flat storage: the kernel wrote it there (gradOutput), or it is
    // copied or added there in place.
    if (!t.grad) {
      if (slot.holds(g)) {
        t.grad = g;
        return;
      }
      const view = slot.view();
      copyInto(view, g);
      g.dispose();
      t.grad = view;
      return;
    }
    if (slot.holds(t.grad)) {
      accumulateInto(t.grad, g);
      g.dispose();
      return;
    }
  }
  const own = g.isContiguous ? g : g.contiguous();
  if (own !== g) g.dispose();
  if (t.grad) {
    const sum = t.grad.add(own);
    t.grad.dispose();
    own.dispose();
    t.grad = sum;
  } else t.grad = own;
}
