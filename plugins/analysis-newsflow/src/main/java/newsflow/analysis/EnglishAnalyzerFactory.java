/*
 * Copyright the newsflow authors. Licensed under the Apache License, Version 2.0.
 */

package newsflow.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * The {@code english} analyzer: Lucene's EnglishAnalyzer with its default stop words and no
 * stem exclusions, which is what the analysis-common module provides under the same name.
 */
@NamedComponent("english")
public class EnglishAnalyzerFactory implements AnalyzerFactory {

    public EnglishAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new EnglishAnalyzer();
    }
}
