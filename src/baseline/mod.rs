//! The baseline tier: machine code straight from a formula's postfix program, one pass, no IR, no
//! register allocator. A formula is callable in a few microseconds, where Cranelift takes 40 to
//! 150 (docs/performance.md, "The baseline tier").
//!
//! The code is a stack machine with the stack's places fixed by depth: f64 value `k` lives in
//! register `k` of a bank of 13 (`xmm0..12`, `d16..28`), integer values in stack slots with the
//! top in a register (`rax`, `x0`); past the registers, and around calls, values live in slots of
//! the function's frame. Each node of the program becomes a few instructions, emitted by the
//! host's [`Emitter`] (`x64.rs`, `arm64.rs`). The operations are those of Cranelift's
//! lowering (`expr/lower.rs`): the same IEEE-754 instructions, the same guarded division, and
//! calls of the same Rust math functions (`expr/math.rs`), by absolute address, so the code needs
//! no relocation and agrees with the interpreter bit for bit. A program that mixes types takes
//! `typed.rs`'s driver instead, every value in its frame slot, through the same emitters'
//! [`typed::TypedEmitter`] half (`x64/typed.rs`, `arm64/typed.rs`).

#[cfg(any(target_arch = "aarch64", test))]
mod arm64;
mod cfi;
mod typed;
#[cfg(any(target_arch = "x86_64", test))]
mod x64;

use crate::expr::{Args, BinOp, Func, Node, Program, REM_CALLEE, Ty, UnOp};

/// Whether the baseline tier runs on this host. Its emitters write System V and AAPCS64 code, so
/// on Windows (Windows x64: other argument registers, callee-saved `xmm6..15`, shadow space,
/// `UNWIND_INFO`) formulas and kernels compile with Cranelift instead, and an
/// [`crate::Evaluator`] goes from interpreting to optimized code.
pub(crate) const ON_HOST: bool = cfg!(not(windows));

/// How many f64 values live in registers (the rest in frame slots): 13 of the 16 that both ISAs
/// give a leaf function's floats (x86-64's `xmm0..15`, AArch64's caller-saved `v16..31`), three
/// left as scratch.
const VALUE_REGS: usize = 13;
/// The page size that stack probes step by: the smallest of any x86-64 or AArch64 Linux.
const PROBE: usize = 4096;

/// Whether the variables of `program` live in registers, above the values' (register
/// `max_stack + i` of the bank holds variable `i`), loaded once per call or per row instead of
/// at each use: for f64 formulas and kernels with their arguments in registers or columns, when
/// values and variables fit the bank together and no call would clobber them.
fn vars_in_registers(program: &Program, shape: Shape) -> bool {
    let calls = program.nodes.iter().any(|node| match node {
        Node::Call(f) => !matches!(f, Func::Abs | Func::Sqrt),
        Node::Bin(op) => matches!(op, BinOp::Pow | BinOp::Rem),
        _ => false,
    });
    program.single_type() == Some(Ty::F64)
        && shape != Shape::Formula(Args::Memory)
        && !calls
        && program.max_stack + program.vars <= VALUE_REGS
}

/// Which of the first 8 variables of `program` are floats (bit `i` for variable `i`): how a
/// formula's arguments are spread over integer and float registers.
fn float_args(program: &Program) -> u8 {
    let floats = program.var_types.iter().take(8).enumerate();
    floats.fold(0, |bits, (i, t)| bits | u8::from(t.is_float()) << i)
}

/// The bytes of frame slots `program` needs as `shape`: one per value of its deepest stack, and
/// for a formula with its arguments in registers, one per argument, stored there on entry.
fn slot_bytes(program: &Program, shape: Shape) -> usize {
    let arguments = match shape {
        Shape::Formula(Args::Registers) => program.vars,
        _ => 0,
    };
    8 * (program.max_stack + arguments)
}

/// What a baseline function is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A function of the variables, taken as [`Args`] says.
    Formula(Args),
    /// The loop of a kernel: `fn(columns: *const *const T, out: *mut T, len: u64) -> u64`, as
    /// `expr/vector.rs` builds it, one row at a time.
    Kernel,
}

/// An operation on the top of the stack that the emitters inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unary {
    /// Wrapping negation, or the f64 sign flipped (bits moved, as Cranelift's `fneg`).
    Neg,
    /// Bitwise not (integers).
    Not,
    /// The f64 sign cleared (bits moved, as `fabs`).
    Abs,
    /// `sqrtsd` / `fsqrt`, which quiet a NaN as the interpreter does.
    Sqrt,
}

/// What each ISA's emitter does, node by node. `depth` is the number of values on the stack
/// before the node. Where value `k` lives is the emitter's choice: f64 values in registers by
/// depth (memory slots past the registers), integers with the top in a register and the rest in
/// slots.
pub(crate) trait Emitter {
    /// An emitter that appends to `out`'s code and call frame information.
    fn new(ty: Ty, shape: Shape, program: &Program, out: Emitted) -> Self;
    /// Saves what it must, makes the frame, and, for a kernel, starts the loop over rows.
    fn prologue(&mut self);
    /// Pushes variable `index` as value `depth`.
    fn var(&mut self, index: usize, depth: usize);
    /// Pushes a literal as value `depth`.
    fn literal(&mut self, bits: u64, depth: usize);
    /// Replaces value `depth - 1`.
    fn unary(&mut self, op: Unary, depth: usize);
    /// `value[depth - 2] op value[depth - 1]`, for an operator with an instruction (not f64 `%`
    /// or `**`).
    fn binary(&mut self, op: BinOp, depth: usize);
    /// `value[depth - 3] ? value[depth - 2] : value[depth - 1]`.
    fn select(&mut self, depth: usize);
    /// The Rust function at `address`, of the f64 values `depth - arity .. depth`.
    fn call(&mut self, address: usize, arity: usize, depth: usize);
    /// Returns value 0, or, for a kernel, stores it as the row's result and closes the loop.
    fn epilogue(&mut self);
    fn finish(self) -> Emitted;
}

/// Baseline functions one after another: their machine code, and their call frame information
/// (`cfi.rs`), each function's program after the last's.
#[derive(Debug, Default)]
pub(crate) struct Emitted {
    pub(crate) code: Vec<u8>,
    pub(crate) cfi: Vec<u8>,
}

/// `out` with the machine code of `program` as `shape`, and its call frame information,
/// appended, for the host (x86-64 or AArch64; nothing elsewhere, where `isa::check_host` refuses
/// the host first).
pub(crate) fn emit(program: &Program, shape: Shape, out: Emitted) -> Emitted {
    #[cfg(target_arch = "x86_64")]
    return emit_with::<x64::X64>(program, shape, out);
    #[cfg(target_arch = "aarch64")]
    return emit_with::<arm64::Arm64>(program, shape, out);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (program, shape);
        out
    }
}

/// `out` with the machine code of `program` as `shape` appended, by emitter `E`: a program of
/// one type as the module's comment says, one that mixes types by `typed.rs`.
pub(crate) fn emit_with<E: typed::TypedEmitter>(
    program: &Program,
    shape: Shape,
    mut out: Emitted,
) -> Emitted {
    if program.single_type().is_none() {
        return typed::emit::<E>(program, shape, out);
    }
    // A few instructions a node: one allocation for most formulas.
    out.code.reserve(64 + 16 * program.nodes.len());
    let mut e = E::new(program.ty, shape, program, out);
    e.prologue();
    let mut depth = 0usize;
    for &node in &program.nodes {
        match node {
            Node::Var(i) => e.var(usize::from(i), depth),
            Node::Lit(bits) => e.literal(bits, depth),
            Node::Un(UnOp::Neg) => e.unary(Unary::Neg, depth),
            Node::Un(UnOp::Not) => e.unary(Unary::Not, depth),
            Node::Bin(BinOp::Pow) => e.call(address(Func::Pow), 2, depth),
            Node::Bin(BinOp::Rem) if program.ty == Ty::F64 => {
                e.call(REM_CALLEE.1.address() as usize, 2, depth);
            }
            Node::Bin(op) => e.binary(op, depth),
            Node::Select => e.select(depth),
            Node::Call(Func::Abs) => e.unary(Unary::Abs, depth),
            Node::Call(Func::Sqrt) => e.unary(Unary::Sqrt, depth),
            Node::Call(f) => e.call(address(f), f.arity(), depth),
            // Single-type programs have none of these (`typed.rs` takes the others).
            Node::Cast | Node::Test(_) | Node::Order => {}
        }
        depth = depth + 1 - node.pops();
    }
    e.epilogue();
    e.finish()
}

/// The address of the Rust function that computes `f`.
fn address(f: Func) -> usize {
    f.rust().address() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Formula;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The code and call frame information of `program` by emitter `E`.
    fn emitted<E: typed::TypedEmitter>(program: &Program, shape: Shape) -> Emitted {
        emit_with::<E>(program, shape, Emitted::default())
    }

    /// `x + 1` for `i32`, byte for byte, on both ISAs (whatever the host): read with objdump, it
    /// is the stack machine of the module's comment, and nothing more.
    #[test]
    fn golden_bytes_of_x_plus_1() {
        let formula = Formula::<i32>::parse("x + 1", &["x"]).expect("parse");
        let shape = Shape::Formula(Args::Registers);
        // sub rsp, 24; mov [rsp+16], rdi; mov eax, [rsp+16]; mov [rsp], rax; mov eax, 1;
        // add eax, [rsp]; add rsp, 24; ret
        assert_eq!(
            hex(&emitted::<x64::X64>(formula.program(), shape).code),
            "4881ec1800000048897c24108b44241048890424b8010000000304244881c418000000c3"
        );
        // stp x29, x30, [sp, #-16]!; mov x29, sp; sub sp, sp, #32; str x0, [sp, #16];
        // ldr w0, [sp, #16]; str x0, [sp]; mov x0, #1; ldr w1, [sp]; add w0, w1, w0;
        // add sp, sp, #32; ldp x29, x30, [sp], #16; ret
        assert_eq!(
            hex(&emitted::<arm64::Arm64>(formula.program(), shape).code),
            "fd7bbfa9fd030091ff8300d1e00b00f9e01340b9e00300f9200080d2e10340b92000000bff830091fd7bc1a8c0035fd6"
        );
    }

    /// `f64(n) < x` over an f64 `x` and an i32 `n`, a `bool`, byte for byte on both ISAs: the
    /// typed driver's slots (`typed.rs`), the arguments stored by class (`x` from the first float
    /// register, `n` from the first integer one), the conversion, the comparison whose unordered
    /// case is false, and the `bool` returned as 0 or 1.
    #[test]
    fn golden_bytes_of_a_typed_comparison() {
        let vars = [("x", Ty::F64), ("n", Ty::I32)];
        let formula = crate::TypedFormula::parse("f64(n) < x", &vars).expect("parse");
        let shape = Shape::Formula(Args::Registers);
        // sub rsp, 40; movsd [rsp+16], xmm0; mov [rsp+24], rdi; mov eax, [rsp+24];
        // mov [rsp], eax; mov eax, [rsp]; cvtsi2sd xmm0, eax; movsd [rsp], xmm0;
        // movsd xmm0, [rsp+16]; movsd [rsp+8], xmm0; movsd xmm0, [rsp]; movsd xmm1, [rsp+8];
        // ucomisd xmm1, xmm0; seta al; movzx eax, al; mov [rsp], al;
        // movzx eax, byte [rsp]; add rsp, 40; ret
        assert_eq!(
            hex(&emitted::<x64::X64>(formula.program(), shape).code),
            "4881ec28000000f20f1144241048897c24188b4424188904248b0424f20f2ac0f20f110424f20f104424\
             10f20f11442408f20f100424f20f104c2408660f2ec80f97c00fb6c08804240fb604244881c428000000c3"
        );
        // stp x29, x30, [sp, #-16]!; mov x29, sp; sub sp, sp, #32; str d0, [sp, #16];
        // str x0, [sp, #24]; ldr w0, [sp, #24]; str w0, [sp]; ldr w0, [sp]; scvtf d0, w0;
        // str d0, [sp]; ldr d0, [sp, #16]; str d0, [sp, #8]; ldr d0, [sp]; ldr d1, [sp, #8];
        // fcmp d0, d1; cset w0, mi; strb w0, [sp]; ldrb w0, [sp]; add sp, sp, #32;
        // ldp x29, x30, [sp], #16; ret
        assert_eq!(
            hex(&emitted::<arm64::Arm64>(formula.program(), shape).code),
            "fd7bbfa9fd030091ff8300d1e00b00fde00f00f9e01b40b9e00300b9e00340b90000621ee00300fde00b\
             40fde00700fde00340fde10740fd0020611ee0579f1ae0030039e0034039ff830091fd7bc1a8c0035fd6"
        );
    }

    /// A frame over a page is entered a page at a time, each touched (the guard page below the
    /// stack must be hit, not stepped over).
    #[test]
    fn big_frames_are_probed_page_by_page() {
        let src = vec!["x"; 1200].join(" ** ");
        let formula = Formula::<f64>::parse(&src, &["x"]).expect("parse");
        assert_eq!(formula.program().max_stack, 1200);
        let shape = Shape::Formula(Args::Registers);
        let x = emitted::<x64::X64>(formula.program(), shape).code;
        // sub rsp, 4096; or dword [rsp], 0 — twice, for 9,616 bytes.
        let probe = "4881ec00100000830c2400";
        assert!(hex(&x).starts_with(&probe.repeat(2)), "{}", &hex(&x)[..60]);
        let a = emitted::<arm64::Arm64>(formula.program(), shape).code;
        // sub sp, sp, #1, lsl #12; str xzr, [sp] — twice.
        let probe = "ff0740d1ff0300f9";
        assert!(
            hex(&a[8..]).starts_with(&probe.repeat(2)),
            "{}",
            &hex(&a)[..60]
        );
    }
}
