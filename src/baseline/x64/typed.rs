//! Typed programs on x86-64 (`../typed.rs`): operand `r` in `[rax, rcx, rdx][r]` or `xmm<r>`;
//! `r8` and `xmm3` are scratch.

use super::{R8, RAX, RCX, RDX, Rm, X64};
use crate::baseline::typed::TypedEmitter;
use crate::expr::{BinOp, Func, Node, Test, Ty, UnOp, clif_type, float_division};

/// The integer register of operand `r`.
const INT: [u8; 3] = [RAX, RCX, RDX];
/// The float scratch register.
const F3: u8 = 3;

// Condition codes (`0F 90+cc` setcc, `0F 40+cc` cmovcc, `70+cc` jcc).
const NO: u8 = 0x1;
const B: u8 = 0x2;
const AE: u8 = 0x3;
const E: u8 = 0x4;
const NE: u8 = 0x5;
const BE: u8 = 0x6;
const A: u8 = 0x7;
const S: u8 = 0x8;
const NS: u8 = 0x9;
const P: u8 = 0xA;
const NP: u8 = 0xB;
const L: u8 = 0xC;
const GE: u8 = 0xD;
const LE: u8 = 0xE;
const G: u8 = 0xF;

impl X64 {
    /// The mandatory prefix of a scalar SSE instruction on `ty` (`F3` single, `F2` double).
    fn scalar(ty: Ty) -> u8 {
        if ty == Ty::F32 { 0xF3 } else { 0xF2 }
    }

    /// Register `r` of `ty`'s class = the value of type `ty` at `at`.
    fn get_value(&mut self, r: usize, ty: Ty, at: Rm) {
        match ty {
            // A `bool` is its low byte: Rust passes and stores it so.
            Ty::Bool => self.op(None, false, &[0x0F, 0xB6], INT[r], at), // movzx r32, byte
            Ty::I32 => self.op(None, false, &[0x8B], INT[r], at),
            Ty::I64 => self.op(None, true, &[0x8B], INT[r], at),
            _ => self.sse(Self::scalar(ty), 0x10, r as u8, at), // movss / movsd
        }
    }

    /// `at` = register 0 of `ty`'s class, a value of type `ty`.
    pub(super) fn put_value(&mut self, ty: Ty, at: Rm) {
        match ty {
            Ty::Bool => self.op(None, false, &[0x88], RAX, at), // mov byte
            Ty::I32 => self.op(None, false, &[0x89], RAX, at),
            Ty::I64 => self.op(None, true, &[0x89], RAX, at),
            _ => self.sse(Self::scalar(ty), 0x11, 0, at),
        }
    }

    /// `setcc r8` then `movzx r32, r8`: integer register `reg` = 1 if `cc` holds, else 0.
    fn truth_of(&mut self, reg: u8, cc: u8) {
        self.op(None, false, &[0x0F, 0x90 + cc], 0, Rm::Reg(reg));
        self.op(None, false, &[0x0F, 0xB6], reg, Rm::Reg(reg));
    }

    /// `ucomiss` / `ucomisd a, b`.
    fn ucomis(&mut self, ty: Ty, a: u8, b: u8) {
        let prefix = (ty == Ty::F64).then_some(0x66);
        self.op(prefix, false, &[0x0F, 0x2E], a, Rm::Reg(b));
    }

    /// `xmm3 = 0`, to compare with.
    fn zero_f3(&mut self) {
        self.sse(0x66, 0x57, F3, Rm::Reg(F3)); // xorpd
    }

    /// `xmm<r> op= bits` as a mask (`0x57` xorpd, `0x54` andpd), through `r8`.
    fn mask(&mut self, opcode: u8, r: u8, bits: u64) {
        self.mov_imm(R8, bits);
        self.op(Some(0x66), true, &[0x0F, 0x6E], F3, Rm::Reg(R8)); // movq xmm3, r8
        self.sse(0x66, opcode, r, Rm::Reg(F3));
    }

    /// `mov reg64, xmm<r>` of a float's bits (`movd` for an `f32`).
    fn float_bits(&mut self, ty: Ty, reg: u8, r: u8) {
        self.op(Some(0x66), ty == Ty::F64, &[0x0F, 0x7E], r, Rm::Reg(reg));
    }

    /// Float register `r` of type `from` to integer register `r` of type `to`: toward zero,
    /// saturating, NaN to 0 (Rust's `as`). `cvttsd2si` gives MIN for every out-of-range input
    /// and NaN; only then is the float looked at again.
    fn float_to_int(&mut self, r: usize, from: Ty, to: Ty) {
        let (reg, w) = (INT[r], to == Ty::I64);
        self.op(
            Some(Self::scalar(from)),
            w,
            &[0x0F, 0x2C],
            reg,
            Rm::Reg(r as u8),
        );
        self.op(None, w, &[0x83], 7, Rm::Reg(reg)); // cmp reg, 1: overflows for MIN only
        self.code.push(1);
        let done = self.jump8(0x70 + NO);
        self.zero_f3();
        self.ucomis(from, r as u8, F3);
        let nan = self.jump8(0x70 + P);
        let below = self.jump8(0x70 + BE); // x <= 0: MIN is right
        self.op(None, w, &[0xF7], 2, Rm::Reg(reg)); // not: MAX
        let above = self.jump8(0xEB);
        self.land8(nan);
        self.op(None, false, &[0x31], reg, Rm::Reg(reg)); // xor: 0
        self.land8(done);
        self.land8(below);
        self.land8(above);
    }

    /// NumPy's `//` or `%` of `rax` by `rcx`: 0 for a zero divisor; otherwise the quotient
    /// rounds down and the remainder takes the divisor's sign (MIN // -1 wraps to MIN).
    fn floor_division(&mut self, modulo: bool, w: bool) {
        self.op(None, w, &[0x85], RCX, Rm::Reg(RCX)); // test rcx, rcx
        let zero = self.jump8(0x70 + E);
        self.op(None, w, &[0x83], 7, Rm::Reg(RCX)); // cmp rcx, -1
        self.code.push(0xFF);
        let minus_one = self.jump8(0x70 + E);
        if w {
            self.code.extend_from_slice(&[0x48, 0x99]); // cqo
        } else {
            self.code.push(0x99); // cdq
        }
        self.op(None, w, &[0xF7], 7, Rm::Reg(RCX)); // idiv rcx: rax = q, rdx = r
        self.op(None, w, &[0x85], RDX, Rm::Reg(RDX)); // test rdx, rdx
        let exact = self.jump8(0x70 + E);
        self.op(None, w, &[0x89], RDX, Rm::Reg(R8)); // mov r8, rdx
        self.op(None, w, &[0x31], RCX, Rm::Reg(R8)); // xor r8, rcx
        let same_sign = self.jump8(0x70 + NS);
        if modulo {
            self.op(None, w, &[0x01], RCX, Rm::Reg(RDX)); // add rdx, rcx
        } else {
            self.op(None, w, &[0x83], 5, Rm::Reg(RAX)); // sub rax, 1
            self.code.push(1);
        }
        self.land8(exact);
        self.land8(same_sign);
        if modulo {
            self.op(None, w, &[0x89], RDX, Rm::Reg(RAX)); // mov rax, rdx
        }
        let done = self.jump8(0xEB);
        self.land8(minus_one);
        if modulo {
            self.op(None, false, &[0x31], RAX, Rm::Reg(RAX)); // xor eax, eax
        } else {
            self.op(None, w, &[0xF7], 3, Rm::Reg(RAX)); // neg rax
        }
        let done_too = self.jump8(0xEB);
        self.land8(zero);
        self.op(None, false, &[0x31], RAX, Rm::Reg(RAX)); // xor eax, eax
        self.land8(done);
        self.land8(done_too);
    }

    /// `rax = rax op rcx` for an integer (or `bool`) `ty`.
    fn int_binary(&mut self, op: BinOp, ty: Ty) {
        let w = ty == Ty::I64;
        let rcx = Rm::Reg(RCX);
        if op.is_comparison() {
            let cc = match (op, ty == Ty::Bool) {
                (BinOp::Lt, true) => B,
                (BinOp::Le, true) => BE,
                (BinOp::Gt, true) => A,
                (BinOp::Ge, true) => AE,
                (BinOp::Lt, false) => L,
                (BinOp::Le, false) => LE,
                (BinOp::Gt, false) => G,
                (BinOp::Ge, false) => GE,
                (BinOp::Eq, _) => E,
                _ => NE,
            };
            self.op(None, w, &[0x3B], RAX, rcx); // cmp rax, rcx
            return self.truth_of(RAX, cc);
        }
        match op {
            BinOp::Add => self.op(None, w, &[0x03], RAX, rcx),
            BinOp::Sub => self.op(None, w, &[0x2B], RAX, rcx),
            BinOp::Mul => self.op(None, w, &[0x0F, 0xAF], RAX, rcx),
            BinOp::And => self.op(None, w, &[0x23], RAX, rcx),
            BinOp::Or => self.op(None, w, &[0x0B], RAX, rcx),
            BinOp::Xor => self.op(None, w, &[0x33], RAX, rcx),
            // By `cl`, modulo the width, as the interpreter's.
            BinOp::Shl => self.op(None, w, &[0xD3], 4, Rm::Reg(RAX)),
            BinOp::Shr => self.op(None, w, &[0xD3], 5, Rm::Reg(RAX)),
            BinOp::Sar => self.op(None, w, &[0xD3], 7, Rm::Reg(RAX)),
            BinOp::Div | BinOp::Rem => {
                // `divide` takes the dividend from memory or a register and the divisor in rax.
                self.op(None, w, &[0x89], RAX, Rm::Reg(RDX)); // mov rdx, rax
                self.op(None, w, &[0x89], RCX, Rm::Reg(RAX)); // mov rax, rcx
                self.divide(op == BinOp::Rem, Rm::Reg(RDX), w);
            }
            BinOp::FloorDiv | BinOp::Mod => self.floor_division(op == BinOp::Mod, w),
            // The parser gives `**` a float type, and a `bool` only logic and comparisons.
            _ => {}
        }
    }

    /// `xmm0 = xmm0 op xmm1` for a float `ty`.
    fn float_binary(&mut self, op: BinOp, ty: Ty) {
        if op.is_comparison() {
            // Unordered sets ZF, PF and CF: `a`/`ae` of swapped operands exclude it.
            let (a, b, cc) = match op {
                BinOp::Lt => (1, 0, A),
                BinOp::Le => (1, 0, AE),
                BinOp::Gt => (0, 1, A),
                BinOp::Ge => (0, 1, AE),
                BinOp::Eq => (0, 1, E),
                _ => (0, 1, NE),
            };
            self.ucomis(ty, a, b);
            match op {
                BinOp::Eq | BinOp::Ne => {
                    let (this, parity, combine) = if op == BinOp::Eq {
                        (E, NP, 0x20) // and
                    } else {
                        (NE, P, 0x08) // or
                    };
                    self.op(None, false, &[0x0F, 0x90 + this], 0, Rm::Reg(RAX));
                    self.op(None, false, &[0x0F, 0x90 + parity], 0, Rm::Reg(RCX));
                    self.op(None, false, &[combine], RCX, Rm::Reg(RAX));
                    self.op(None, false, &[0x0F, 0xB6], RAX, Rm::Reg(RAX));
                }
                _ => self.truth_of(RAX, cc),
            }
            return;
        }
        let opcode = match op {
            BinOp::Add => 0x58,
            BinOp::Mul => 0x59,
            BinOp::Sub => 0x5C,
            BinOp::Div => 0x5E,
            BinOp::Pow => return self.call_rust(Func::Pow.rust_in(ty).1.address() as usize),
            BinOp::Rem | BinOp::FloorDiv | BinOp::Mod => {
                let address = float_division(op, ty).1.address() as usize;
                return self.call_rust(address);
            }
            // The parser refuses bit operators on floats.
            _ => return,
        };
        self.sse(Self::scalar(ty), opcode, 0, Rm::Reg(1));
    }

    /// A call of a Rust function whose arguments are in `xmm0` and `xmm1` already; its result
    /// lands in `xmm0`. Nothing else lives in a register.
    fn call_rust(&mut self, address: usize) {
        self.mov_imm(RAX, address as u64);
        self.code.extend_from_slice(&[0xFF, 0xD0]); // call rax
    }

    /// A function of integers: `abs`, `min` and `max` (the parser makes the rest floats).
    fn int_call(&mut self, f: Func, w: bool) {
        let rcx = Rm::Reg(RCX);
        match f {
            Func::Abs => {
                self.op(None, w, &[0x89], RAX, rcx); // mov rcx, rax
                self.op(None, w, &[0xF7], 3, Rm::Reg(RAX)); // neg rax
                self.op(None, w, &[0x0F, 0x40 + S], RAX, rcx); // cmovs rax, rcx: MIN stays
            }
            Func::Min | Func::Max => {
                self.op(None, w, &[0x3B], RAX, rcx); // cmp rax, rcx
                let cc = if f == Func::Min { G } else { L };
                self.op(None, w, &[0x0F, 0x40 + cc], RAX, rcx);
            }
            _ => {}
        }
    }

    /// `isnan`, `isinf`, `isfinite` of `xmm0`, on its bits without the sign: above, equal to or
    /// below infinity's.
    fn test(&mut self, t: Test, ty: Ty) {
        let w = ty == Ty::F64;
        self.float_bits(ty, RAX, 0);
        self.op(None, w, &[0x03], RAX, Rm::Reg(RAX)); // add rax, rax: the sign shifted out
        let infinity = if w {
            f64::INFINITY.to_bits() << 1
        } else {
            u64::from(f32::INFINITY.to_bits() << 1)
        };
        self.mov_imm(RCX, infinity);
        self.op(None, w, &[0x3B], RAX, Rm::Reg(RCX)); // cmp rax, rcx
        let cc = match t {
            Test::Nan => A,
            Test::Inf => E,
            Test::Finite => B,
        };
        self.truth_of(RAX, cc);
    }

    /// `total_order` of `xmm0`: its bits, the magnitude flipped where the sign is set.
    fn total_order(&mut self, ty: Ty) {
        let w = ty == Ty::F64;
        self.float_bits(ty, RAX, 0);
        self.op(None, w, &[0x89], RAX, Rm::Reg(RCX)); // mov rcx, rax
        self.op(None, w, &[0xC1], 7, Rm::Reg(RCX)); // sar rcx, 31 or 63
        self.code.push(if w { 63 } else { 31 });
        self.op(None, w, &[0xD1], 5, Rm::Reg(RCX)); // shr rcx, 1
        self.op(None, w, &[0x33], RAX, Rm::Reg(RCX)); // xor rax, rcx
    }
}

impl TypedEmitter for X64 {
    fn load(&mut self, r: usize, ty: Ty, k: usize) {
        let at = self.slot(k);
        self.get_value(r, ty, at);
    }

    fn store(&mut self, k: usize, ty: Ty) {
        let at = self.slot(k);
        self.put_value(ty, at);
    }

    fn load_var(&mut self, index: usize, ty: Ty) {
        // One 8-byte slot per variable in memory (`Program::arg_slot`).
        let at = self.var_operand(index, 8, clif_type(ty).bytes() as u8);
        self.get_value(0, ty, at);
    }

    fn store_literal(&mut self, k: usize, bits: u64) {
        self.mov_imm(RAX, bits);
        let at = self.slot(k);
        self.op(None, true, &[0x89], RAX, at);
    }

    fn convert(&mut self, r: usize, from: Ty, to: Ty) {
        let (reg, xmm) = (INT[r], r as u8);
        match (from, to) {
            _ if from == to => {}
            (_, Ty::Bool) if from.is_float() => {
                // Unordered or unequal to 0: a NaN is true.
                self.zero_f3();
                self.ucomis(from, xmm, F3);
                self.op(None, false, &[0x0F, 0x90 + NE], 0, Rm::Reg(reg));
                self.op(None, false, &[0x0F, 0x90 + P], 0, Rm::Reg(R8));
                self.op(None, false, &[0x08], R8, Rm::Reg(reg)); // or reg8, r8b
                self.op(None, false, &[0x0F, 0xB6], reg, Rm::Reg(reg));
            }
            (_, Ty::Bool) => {
                self.op(None, from == Ty::I64, &[0x85], reg, Rm::Reg(reg)); // test
                self.truth_of(reg, NE);
            }
            // 0 or 1 already, zero-extended; the low 32 bits of an i64 are its i32.
            (Ty::Bool, Ty::I32 | Ty::I64) | (Ty::I64, Ty::I32) => {}
            (Ty::I32, Ty::I64) => self.op(None, true, &[0x63], reg, Rm::Reg(reg)), // movsxd
            (Ty::Bool | Ty::I32 | Ty::I64, _) => {
                // cvtsi2ss / cvtsi2sd, of 64 bits for an i64.
                let prefix = Self::scalar(to);
                self.op(
                    Some(prefix),
                    from == Ty::I64,
                    &[0x0F, 0x2A],
                    xmm,
                    Rm::Reg(reg),
                );
            }
            (Ty::F32, Ty::F64) => self.sse(0xF3, 0x5A, xmm, Rm::Reg(xmm)), // cvtss2sd
            (Ty::F64, Ty::F32) => self.sse(0xF2, 0x5A, xmm, Rm::Reg(xmm)), // cvtsd2ss
            _ => self.float_to_int(r, from, to),
        }
    }

    fn compute(&mut self, node: Node, ty: Ty) {
        // 64 bits wide: an i64, or an f64's sign mask.
        let w = matches!(ty, Ty::I64 | Ty::F64);
        match node {
            Node::Un(UnOp::Neg) if ty.is_float() => {
                let sign = if w { 1 << 63 } else { 1 << 31 };
                self.mask(0x57, 0, sign);
            }
            Node::Un(UnOp::Neg) if ty != Ty::Bool => self.op(None, w, &[0xF7], 3, Rm::Reg(RAX)),
            Node::Un(UnOp::Not) if ty == Ty::Bool => {
                self.op(None, false, &[0x83], 6, Rm::Reg(RAX)); // xor eax, 1
                self.code.push(1);
            }
            Node::Un(UnOp::Not) if ty.is_int() => self.op(None, w, &[0xF7], 2, Rm::Reg(RAX)),
            Node::Bin(op) if ty.is_float() => self.float_binary(op, ty),
            Node::Bin(op) => self.int_binary(op, ty),
            Node::Select if ty.is_float() => {
                self.sse(0x66, 0x28, 0, Rm::Reg(2)); // movapd xmm0, xmm2
                self.op(None, false, &[0x85], RAX, Rm::Reg(RAX)); // test eax, eax
                let no = self.jump8(0x70 + E);
                self.sse(0x66, 0x28, 0, Rm::Reg(1)); // movapd xmm0, xmm1
                self.land8(no);
            }
            Node::Select => {
                self.op(None, false, &[0x85], RAX, Rm::Reg(RAX)); // test eax, eax
                self.op(None, w, &[0x8B], RAX, Rm::Reg(RDX)); // mov rax, rdx
                self.op(None, w, &[0x0F, 0x40 + NE], RAX, Rm::Reg(RCX)); // cmovne rax, rcx
            }
            Node::Call(Func::Abs) if ty.is_float() => {
                let magnitude = if w { !(1 << 63) } else { 0x7FFF_FFFF };
                self.mask(0x54, 0, magnitude);
            }
            Node::Call(Func::Sqrt) if ty.is_float() => {
                self.sse(Self::scalar(ty), 0x51, 0, Rm::Reg(0));
            }
            Node::Call(f) if ty.is_float() => self.call_rust(f.rust_in(ty).1.address() as usize),
            Node::Call(f) if ty.is_int() => self.int_call(f, w),
            Node::Test(t) => self.test(t, ty),
            Node::Order => self.total_order(ty),
            // A cast is its operand's conversion; the parser gives `-` and functions no bool,
            // `~` no float.
            _ => {}
        }
    }
}
