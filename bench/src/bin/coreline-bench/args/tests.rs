//! Tests of `compare`'s flags.

use super::*;

fn parse(args: &[&str]) -> Result<CompareArgs, Fail> {
    CompareArgs::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

#[test]
fn quick_shortens_everything_but_explicit_flags_win() {
    let a = parse(&["--quick"]).unwrap();
    assert_eq!((a.duration, a.repeats, a.quiet_wait), (1, 1, 0.0));
    assert!(a.scenarios.iter().all(|s| s.connections <= 128));
    assert_eq!(a.scenarios.len(), 11);
    let a = parse(&["--quick", "--duration", "4", "--repeats", "2"]).unwrap();
    assert_eq!((a.duration, a.repeats), (4, 2));
    let full = parse(&[]).unwrap();
    assert_eq!(
        (full.duration, full.repeats, full.quiet_wait),
        (10, 3, 30.0)
    );
    assert_eq!(
        full.scenarios
            .iter()
            .find(|s| s.name == "plain1024")
            .unwrap()
            .connections,
        1024
    );
}

#[test]
fn servers_come_in_report_order_and_bad_values_are_refused() {
    let a = parse(&["--servers", "hyper,coreline", "--load", "wrk"]).unwrap();
    assert_eq!(a.servers, [Kind::Coreline, Kind::Hyper]);
    assert_eq!(a.load, LoadTool::Wrk);
    for bad in [
        &["--servers", "apache"][..],
        &["--duration", "0"],
        &["--load", "ab"],
        &["--out", "a/b"],
        &["--port-base", "80"],
        &["--retries"],
        &["--frob", "1"],
    ] {
        assert!(matches!(parse(bad), Err(Fail::Usage(_))), "{bad:?}");
    }
    assert!(matches!(parse(&["--help"]), Err(Fail::Help(_))));
    assert!(matches!(parse(&["-V"]), Err(Fail::Help(_))));
    for bad in [&["--duration", "x"][..], &["--server-cpus", "0-1"]] {
        match parse(bad) {
            Err(Fail::Usage(m)) => assert!(!m.contains('\n') && m.contains(bad[0]), "{m}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn overlapping_cpus_need_the_opt_in_which_the_report_carries() {
    let overlap = ["--server-cpus", "0,1", "--client-cpus", "1"];
    match parse(&overlap) {
        Err(Fail::Usage(m)) => assert!(m.contains("--allow-overlap"), "{m}"),
        other => panic!("{other:?}"),
    }
    let a = parse(&[&overlap[..], &["--allow-overlap"]].concat()).unwrap();
    assert!(a.load_shares_server_cpu);
    assert!(!parse(&["--allow-overlap"]).unwrap().load_shares_server_cpu);
}
