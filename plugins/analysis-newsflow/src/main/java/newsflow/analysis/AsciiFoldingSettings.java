/*
 * Copyright the newsflow authors. Licensed under the Apache License, Version 2.0.
 */

package newsflow.analysis;

import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;

/** Settings of an {@code asciifolding} filter defined in an index's analysis settings. */
@AnalysisSettings
public interface AsciiFoldingSettings {

    /** Same name and default as analysis-common: also emit the unfolded token. */
    @BooleanSetting(path = "preserve_original", defaultValue = false)
    boolean preserveOriginal();
}
