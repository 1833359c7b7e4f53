//! Coordinates and the three coordinate reference systems phones in China report.
//!
//! Whistle stores and routes WGS-84 only. Amap and Tencent maps report GCJ-02 ("Mars
//! coordinates"), Baidu reports BD-09; both are converted on the way in. GCJ-02 is only defined
//! inside mainland China; outside it the conversion is the identity (that is what the map
//! providers do too), which `coordtransform` decides with an embedded outline of the mainland.

use std::fmt;
use std::str::FromStr;

use crate::ValueError;

/// The coordinate reference system a client's point is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Crs {
    /// GPS / international maps; what Whistle stores.
    #[default]
    Wgs84,
    /// China's national obfuscated system (国测局坐标), used by Amap, Tencent and Apple maps in China.
    Gcj02,
    /// Baidu's system, a further offset of GCJ-02.
    Bd09,
}

impl Crs {
    pub const ALL: [Crs; 3] = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];

    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Crs {
    type Err = ValueError;

    /// Accepts the canonical names case-insensitively, plus the spellings clients commonly send
    /// (`wgs-84`, `gcj-02`, `bd-09`, `bd09ll`, `epsg:4326`).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" | "epsg:4326" => Ok(Crs::Wgs84),
            "gcj02" | "gcj-02" => Ok(Crs::Gcj02),
            "bd09" | "bd-09" | "bd09ll" => Ok(Crs::Bd09),
            _ => Err(ValueError::new("crs", "must be one of wgs84, gcj02, bd09")
                .zh("须为 wgs84、gcj02、bd09 之一")),
        }
    }
}

/// A valid WGS-84 point: finite latitude in [-90, 90] and longitude in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinate {
    lat: f64,
    lon: f64,
}

impl Coordinate {
    /// A WGS-84 point, checked for range and finiteness.
    pub fn wgs84(lat: f64, lon: f64) -> Result<Self, ValueError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(
                ValueError::new("lat", "must be a number between -90 and 90")
                    .zh("须为 -90 到 90 之间的数"),
            );
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(
                ValueError::new("lon", "must be a number between -180 and 180")
                    .zh("须为 -180 到 180 之间的数"),
            );
        }
        Ok(Self { lat, lon })
    }

    /// A point given in `crs`, converted to WGS-84. The input is range-checked before conversion,
    /// so NaN or 1e308 never reaches the conversion formulas.
    pub fn from_crs(crs: Crs, lat: f64, lon: f64) -> Result<Self, ValueError> {
        let checked = Self::wgs84(lat, lon)?;
        let (lon, lat) = match crs {
            Crs::Wgs84 => return Ok(checked),
            Crs::Gcj02 => coordtransform::gcj02_to_wgs84(lon, lat),
            Crs::Bd09 => coordtransform::bd09_to_wgs84(lon, lat),
        };
        Self::wgs84(lat, lon)
    }

    /// This point expressed in `crs` (for clients that draw on a Chinese map provider).
    pub fn to_crs(self, crs: Crs) -> (f64, f64) {
        let (lon, lat) = match crs {
            Crs::Wgs84 => (self.lon, self.lat),
            Crs::Gcj02 => coordtransform::wgs84_to_gcj02(self.lon, self.lat),
            Crs::Bd09 => coordtransform::wgs84_to_bd09(self.lon, self.lat),
        };
        (lat, lon)
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lon(self) -> f64 {
        self.lon
    }

    pub(crate) fn to_point(self) -> geo::Point<f64> {
        geo::Point::new(self.lon, self.lat)
    }

    /// Great-circle distance in metres (haversine on the mean Earth radius); enough for "within
    /// R metres" questions at city scale.
    pub fn distance_m(self, other: Coordinate) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    // Reference values published with the widely used `coordtransform` JavaScript library
    // (wandergis/coordtransform, test/app.js) for the point (116.404, 39.915) in Beijing:
    //   wgs84togcj02 → [116.41024449916938, 39.91640428150164]
    //   gcj02tobd09  → [116.41036949371029, 39.92133699351021]
    //   gcj02towgs84 → [116.39775550083061, 39.91359571849836]  (one-pass approximation)
    #[test]
    fn gcj02_reference_point_converts_back_to_its_wgs84_origin() {
        let c = Coordinate::from_crs(Crs::Gcj02, 39.91640428150164, 116.41024449916938).unwrap();
        // 1e-7 degrees is about a centimetre.
        assert!(close(c.lat(), 39.915, 1e-7), "lat {}", c.lat());
        assert!(close(c.lon(), 116.404, 1e-7), "lon {}", c.lon());
    }

    #[test]
    fn wgs84_to_gcj02_matches_the_published_forward_value() {
        let (lat, lon) = Coordinate::wgs84(39.915, 116.404)
            .unwrap()
            .to_crs(Crs::Gcj02);
        assert!(close(lat, 39.91640428150164, 1e-9));
        assert!(close(lon, 116.41024449916938, 1e-9));
    }

    #[test]
    fn bd09_reference_point_converts_to_the_published_wgs84() {
        // BD-09 (116.41036949371029, 39.92133699351021) is GCJ-02 (116.404, 39.915), whose WGS-84
        // is published as (116.39775550083061, 39.91359571849836) by the one-pass inverse; the
        // iterative inverse used here agrees within a few metres (5e-5° ≈ 5 m).
        let c = Coordinate::from_crs(Crs::Bd09, 39.92133699351021, 116.41036949371029).unwrap();
        assert!(close(c.lat(), 39.91359571849836, 5e-5), "lat {}", c.lat());
        assert!(close(c.lon(), 116.39775550083061, 5e-5), "lon {}", c.lon());
    }

    #[test]
    fn gcj02_offset_in_lianyungang_is_a_few_hundred_metres() {
        // Haizhou district, Lianyungang. The GCJ-02 offset there is known to be of the order of
        // 500 m; a conversion that did nothing or went the wrong way would fail this.
        let wgs = Coordinate::wgs84(34.5905, 119.1505).unwrap();
        let (glat, glon) = wgs.to_crs(Crs::Gcj02);
        let back = Coordinate::from_crs(Crs::Gcj02, glat, glon).unwrap();
        let offset = wgs.distance_m(Coordinate::wgs84(glat, glon).unwrap());
        assert!((200.0..900.0).contains(&offset), "offset {offset} m");
        assert!(back.distance_m(wgs) < 0.05);
    }

    #[test]
    fn outside_china_gcj02_is_identity() {
        let c = Coordinate::from_crs(Crs::Gcj02, 51.5007, -0.1246).unwrap();
        assert_eq!((c.lat(), c.lon()), (51.5007, -0.1246));
    }

    #[test]
    fn rejects_out_of_range_and_non_finite_input() {
        for (lat, lon) in [
            (91.0, 0.0),
            (-90.5, 0.0),
            (0.0, 180.1),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
            (1e308, 1e308),
        ] {
            for crs in Crs::ALL {
                assert!(
                    Coordinate::from_crs(crs, lat, lon).is_err(),
                    "{crs} {lat} {lon}"
                );
            }
        }
        assert_eq!(Coordinate::wgs84(91.0, 0.0).unwrap_err().field, "lat");
        assert_eq!(Coordinate::wgs84(0.0, 181.0).unwrap_err().field, "lon");
    }

    #[test]
    fn crs_parses_common_spellings() {
        assert_eq!("GCJ02".parse::<Crs>().unwrap(), Crs::Gcj02);
        assert_eq!("bd09ll".parse::<Crs>().unwrap(), Crs::Bd09);
        assert_eq!("wgs-84".parse::<Crs>().unwrap(), Crs::Wgs84);
        assert!("utm".parse::<Crs>().is_err());
        for crs in Crs::ALL {
            assert_eq!(crs.as_str().parse::<Crs>().unwrap(), crs);
        }
    }

    #[test]
    fn distance_of_one_degree_of_latitude() {
        let a = Coordinate::wgs84(34.0, 119.0).unwrap();
        let b = Coordinate::wgs84(35.0, 119.0).unwrap();
        assert!(close(a.distance_m(b), 111_195.0, 50.0));
    }

    proptest! {
        // A box well inside the mainland: near the border the forward and inverse transforms may
        // disagree about whether GCJ-02 applies at all.
        #[test]
        fn conversions_round_trip_inside_china(lat in 25.0f64..40.0, lon in 105.0f64..117.0) {
            let wgs = Coordinate::wgs84(lat, lon).unwrap();
            for crs in [Crs::Gcj02, Crs::Bd09] {
                let (clat, clon) = wgs.to_crs(crs);
                let back = Coordinate::from_crs(crs, clat, clon).unwrap();
                prop_assert!(back.distance_m(wgs) < 0.5, "{crs}: {} m", back.distance_m(wgs));
            }
        }

        #[test]
        fn any_finite_input_never_panics(lat in proptest::num::f64::ANY, lon in proptest::num::f64::ANY) {
            for crs in Crs::ALL {
                let _ = Coordinate::from_crs(crs, lat, lon);
            }
        }
    }
}
