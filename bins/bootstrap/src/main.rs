//! secretsync-bootstrap

fn main() {
    eprintln!("not implemented yet");
    std::process::exit(2);
}
