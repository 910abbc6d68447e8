fn main() {
    let f = fnjit::compile_inc().unwrap();
    println!("{}", f.ir());
    println!("{}", fnjit::disasm::hex(f.code()));
    println!(
        "{} near={} {:p}",
        f.call(41),
        f.is_near(),
        f.code().as_ptr()
    );
    let s = fnjit::HandStub::gist().unwrap();
    println!(
        "{} near={} {:p}",
        s.call(41),
        s.is_near(),
        s.code().as_ptr()
    );
    let t = std::time::Instant::now();
    let mut jit = fnjit::Jit::new().unwrap();
    for _ in 0..10000 {
        let f = jit.compile_inc().unwrap();
        std::hint::black_box(f.call(1));
    }
    println!("reuse: {:?}/fn", t.elapsed() / 10000);
    let t = std::time::Instant::now();
    for _ in 0..10000 {
        let f = fnjit::compile_inc().unwrap();
        std::hint::black_box(f.call(1));
    }
    println!("fresh: {:?}/fn", t.elapsed() / 10000);
    let t = std::time::Instant::now();
    for _ in 0..10000 {
        let f = fnjit::HandStub::gist().unwrap();
        std::hint::black_box(f.call(1));
    }
    println!("stub: {:?}/fn", t.elapsed() / 10000);
}
