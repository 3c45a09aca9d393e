//! `lbbench compare BASE NEW`.

use crate::cli::CompareArgs;
use anyhow::{Context, Result};

pub fn compare(args: CompareArgs) -> Result<()> {
    let (base, new) = (report::compare::read(&args.base)?, report::compare::read(&args.new)?);
    let comparison = report::compare::compare(&base, &new);
    for w in &comparison.warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison.verdicts())?);
    } else if args.markdown {
        print!("{}", report::compare::render::render_markdown(&comparison));
    } else {
        print!("{}", report::compare::render::render_text(&comparison));
    }
    if let Some(path) = &args.html {
        let names = (args.base.display().to_string(), args.new.display().to_string());
        let page = report::html::compare::page(&base, &new, &comparison, (&names.0, &names.1))?;
        std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
