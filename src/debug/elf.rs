//! A minimal ELF object describing JIT code in place, for a debugger: a `.text` section with no
//! bytes (the code stays where it runs) at the code's address, a symbol per function, and the
//! code's `.eh_frame` so the debugger unwinds through frames that keep no frame pointer.

/// `EM_X86_64` or `EM_AARCH64`.
#[cfg(target_arch = "x86_64")]
pub(crate) const MACHINE: u16 = 62;
#[cfg(target_arch = "aarch64")]
pub(crate) const MACHINE: u16 = 183;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) const MACHINE: u16 = 0;

const EHDR: usize = 64;
const SHDR: usize = 64;
const SYM: usize = 24;

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;

/// One section header, as written.
struct Section {
    name: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: usize,
    size: usize,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

/// The ELF image of the functions `(name, entry, length)`, with the `.eh_frame` section that
/// describes them (absolute addresses; empty when there is none).
pub(crate) fn image(functions: &[(String, usize, usize)], eh_frame: &[u8]) -> Vec<u8> {
    let low = functions.iter().map(|f| f.1).min().unwrap_or(0);
    let high = functions.iter().map(|f| f.1 + f.2).max().unwrap_or(0);
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; SYM];
    for (name, entry, len) in functions {
        let at = strtab.len() as u32;
        strtab.extend_from_slice(name.as_bytes());
        strtab.push(0);
        symtab.extend_from_slice(&at.to_le_bytes()); // st_name
        symtab.push(0x12); // st_info: STB_GLOBAL, STT_FUNC
        symtab.push(0); // st_other
        symtab.extend_from_slice(&1u16.to_le_bytes()); // st_shndx: .text
        // In a relocatable object a symbol's value is its offset in its section.
        symtab.extend_from_slice(&((entry - low) as u64).to_le_bytes());
        symtab.extend_from_slice(&(*len as u64).to_le_bytes());
    }
    let shstrtab = b"\0.text\0.eh_frame\0.symtab\0.strtab\0.shstrtab\0";
    let mut out = vec![0u8; EHDR];
    let place = |out: &mut Vec<u8>, bytes: &[u8], align: usize| {
        out.resize(out.len().next_multiple_of(align), 0);
        let at = out.len();
        out.extend_from_slice(bytes);
        at
    };
    let eh_at = place(&mut out, eh_frame, 8);
    let sym_at = place(&mut out, &symtab, 8);
    let str_at = place(&mut out, &strtab, 1);
    let shstr_at = place(&mut out, shstrtab, 1);
    let sections = [
        Section {
            name: 0,
            kind: 0,
            flags: 0,
            addr: 0,
            offset: 0,
            size: 0,
            link: 0,
            info: 0,
            align: 0,
            entsize: 0,
        },
        Section {
            name: 1,
            kind: SHT_NOBITS,
            flags: SHF_ALLOC | SHF_EXECINSTR,
            addr: low as u64,
            offset: 0,
            size: high - low,
            link: 0,
            info: 0,
            align: 16,
            entsize: 0,
        },
        Section {
            name: 7,
            kind: SHT_PROGBITS,
            flags: 0,
            addr: 0,
            offset: eh_at,
            size: eh_frame.len(),
            link: 0,
            info: 0,
            align: 8,
            entsize: 0,
        },
        Section {
            name: 17,
            kind: SHT_SYMTAB,
            flags: 0,
            addr: 0,
            offset: sym_at,
            size: symtab.len(),
            link: 4,
            info: 1,
            align: 8,
            entsize: SYM as u64,
        },
        Section {
            name: 25,
            kind: SHT_STRTAB,
            flags: 0,
            addr: 0,
            offset: str_at,
            size: strtab.len(),
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        },
        Section {
            name: 33,
            kind: SHT_STRTAB,
            flags: 0,
            addr: 0,
            offset: shstr_at,
            size: shstrtab.len(),
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        },
    ];
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len();
    for s in &sections {
        out.extend_from_slice(&s.name.to_le_bytes());
        out.extend_from_slice(&s.kind.to_le_bytes());
        out.extend_from_slice(&s.flags.to_le_bytes());
        out.extend_from_slice(&s.addr.to_le_bytes());
        out.extend_from_slice(&(s.offset as u64).to_le_bytes());
        out.extend_from_slice(&(s.size as u64).to_le_bytes());
        out.extend_from_slice(&s.link.to_le_bytes());
        out.extend_from_slice(&s.info.to_le_bytes());
        out.extend_from_slice(&s.align.to_le_bytes());
        out.extend_from_slice(&s.entsize.to_le_bytes());
    }
    // The header: 64-bit, little-endian, version 1, a relocatable object (as LLVM's JIT hands
    // GDB) whose sections sit at the addresses they give.
    let mut header = Vec::with_capacity(EHDR);
    header.extend_from_slice(&[0x7F, b'E', b'L', b'F', 2, 1, 1, 0]);
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&1u16.to_le_bytes()); // e_type: ET_REL
    header.extend_from_slice(&MACHINE.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes()); // e_version
    header.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    header.extend_from_slice(&0u64.to_le_bytes()); // e_phoff
    header.extend_from_slice(&(shoff as u64).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    header.extend_from_slice(&(EHDR as u16).to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes()); // e_phentsize
    header.extend_from_slice(&0u16.to_le_bytes()); // e_phnum
    header.extend_from_slice(&(SHDR as u16).to_le_bytes());
    header.extend_from_slice(&(sections.len() as u16).to_le_bytes());
    header.extend_from_slice(&5u16.to_le_bytes()); // e_shstrndx
    out[..EHDR].copy_from_slice(&header);
    out
}
