// The phone page's built files are embedded; a rebuilt page (new hashed names) must relink.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist/report");
}
