//! Pictures the demo draws for its lots, so a newcomer sees photographs without any download:
//! a still life of a few shapes on a soft gradient, different for each seed.

use super::process::{ImageError, Processed, from_picture};
use image::{DynamicImage, Rgb, RgbImage};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 900;

/// A small deterministic generator (xorshift): the same seed draws the same picture.
struct Dice(u32);

impl Dice {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> Rgb<u8> {
    let m = |x: u8, y: u8| (f32::from(x) * (1.0 - t) + f32::from(y) * t) as u8;
    Rgb([m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])])
}

const PALETTE: [[u8; 3]; 8] = [
    [178, 34, 52],
    [33, 94, 160],
    [214, 162, 38],
    [46, 125, 84],
    [120, 72, 150],
    [200, 110, 60],
    [60, 60, 70],
    [235, 225, 205],
];

/// Draws picture `seed` and encodes it like an upload.
pub fn still_life(seed: u32) -> Result<Processed, ImageError> {
    let mut dice = Dice(seed.wrapping_mul(2_654_435_761).max(1));
    let top = PALETTE[dice.below(8) as usize].map(|c| c / 3 + 150);
    let bottom = PALETTE[dice.below(8) as usize].map(|c| c / 2 + 90);
    let mut img = RgbImage::from_fn(WIDTH, HEIGHT, |_, y| {
        mix(top, bottom, y as f32 / HEIGHT as f32)
    });
    // A table edge, then three to five objects standing on it.
    let table = HEIGHT * 2 / 3;
    for y in table..HEIGHT {
        for x in 0..WIDTH {
            img.put_pixel(
                x,
                y,
                mix([120, 90, 60], [70, 50, 35], (y - table) as f32 / 300.0),
            );
        }
    }
    for _ in 0..3 + dice.below(3) {
        let color = PALETTE[dice.below(8) as usize];
        let cx = 150 + dice.below(WIDTH - 300) as i64;
        let r = 60 + dice.below(110) as i64;
        let tall = dice.below(2) == 0;
        let base = i64::from(table) + 20;
        for y in (base - 3 * r).max(0)..base.min(i64::from(HEIGHT)) {
            for x in (cx - r).max(0)..(cx + r).min(i64::from(WIDTH)) {
                let (dx, dy) = ((x - cx) as f32, (y - (base - r)) as f32);
                let inside = if tall {
                    // A vase: a circle with a neck above it.
                    dx * dx + dy * dy <= (r * r) as f32
                        || (dx.abs() < r as f32 / 3.0 && y > base - 3 * r)
                } else {
                    dx * dx + dy * dy <= (r * r) as f32
                };
                if inside {
                    // Lit from the upper left.
                    let light = 1.0 - ((dx + dy) / (2.5 * r as f32)).clamp(-0.4, 0.6);
                    let shade = |c: u8| (f32::from(c) * light).clamp(0.0, 255.0) as u8;
                    img.put_pixel(x as u32, y as u32, Rgb(color.map(shade)));
                }
            }
        }
    }
    from_picture(&DynamicImage::ImageRgb8(img))
}
