//! Small controlled lists of the real-name registry (实名登记) an applicant fills in: gender,
//! ethnicity, education, political status, household registration and employment status.

use crate::vocab::string_enum;

string_enum! {
    /// Gender, as recorded on the resident ID (odd 17th digit = male).
    pub enum Gender {
        what = "性别",
        code = InvalidGender,
        /// 男.
        Male = "male" => "男",
        /// 女.
        Female = "female" => "女",
    }
}

string_enum! {
    /// Ethnic group (民族) per GB/T 3304, in the standard's order, plus "other" (97) and
    /// "Chinese citizen of foreign origin" (98). Names are Hanyu Pinyin, except `manchu`.
    pub enum Ethnicity {
        what = "民族",
        code = InvalidEthnicity,
        /// 汉族 (01).
        Han = "han" => "汉族",
        /// 蒙古族 (02).
        Mongol = "menggu" => "蒙古族",
        /// 回族 (03).
        Hui = "hui" => "回族",
        /// 藏族 (04).
        Zang = "zang" => "藏族",
        /// 维吾尔族 (05).
        Uyghur = "weiwuer" => "维吾尔族",
        /// 苗族 (06).
        Miao = "miao" => "苗族",
        /// 彝族 (07).
        Yi = "yi" => "彝族",
        /// 壮族 (08).
        Zhuang = "zhuang" => "壮族",
        /// 布依族 (09).
        Buyi = "buyi" => "布依族",
        /// 朝鲜族 (10).
        Chaoxian = "chaoxian" => "朝鲜族",
        /// 满族 (11).
        Manchu = "manchu" => "满族",
        /// 侗族 (12).
        Dong = "dong" => "侗族",
        /// 瑶族 (13).
        Yao = "yao" => "瑶族",
        /// 白族 (14).
        Bai = "bai" => "白族",
        /// 土家族 (15).
        Tujia = "tujia" => "土家族",
        /// 哈尼族 (16).
        Hani = "hani" => "哈尼族",
        /// 哈萨克族 (17).
        Hasake = "hasake" => "哈萨克族",
        /// 傣族 (18).
        Dai = "dai" => "傣族",
        /// 黎族 (19).
        Li = "li" => "黎族",
        /// 傈僳族 (20).
        Lisu = "lisu" => "傈僳族",
        /// 佤族 (21).
        Wa = "wa" => "佤族",
        /// 畲族 (22).
        She = "she" => "畲族",
        /// 高山族 (23).
        Gaoshan = "gaoshan" => "高山族",
        /// 拉祜族 (24).
        Lahu = "lahu" => "拉祜族",
        /// 水族 (25).
        Shui = "shui" => "水族",
        /// 东乡族 (26).
        Dongxiang = "dongxiang" => "东乡族",
        /// 纳西族 (27).
        Naxi = "naxi" => "纳西族",
        /// 景颇族 (28).
        Jingpo = "jingpo" => "景颇族",
        /// 柯尔克孜族 (29).
        Keerkezi = "keerkezi" => "柯尔克孜族",
        /// 土族 (30).
        Tu = "tu" => "土族",
        /// 达斡尔族 (31).
        Dawoer = "dawoer" => "达斡尔族",
        /// 仫佬族 (32).
        Mulao = "mulao" => "仫佬族",
        /// 羌族 (33).
        Qiang = "qiang" => "羌族",
        /// 布朗族 (34).
        Bulang = "bulang" => "布朗族",
        /// 撒拉族 (35).
        Sala = "sala" => "撒拉族",
        /// 毛南族 (36).
        Maonan = "maonan" => "毛南族",
        /// 仡佬族 (37).
        Gelao = "gelao" => "仡佬族",
        /// 锡伯族 (38).
        Xibo = "xibo" => "锡伯族",
        /// 阿昌族 (39).
        Achang = "achang" => "阿昌族",
        /// 普米族 (40).
        Pumi = "pumi" => "普米族",
        /// 塔吉克族 (41).
        Tajike = "tajike" => "塔吉克族",
        /// 怒族 (42).
        Nu = "nu" => "怒族",
        /// 乌孜别克族 (43).
        Wuzibieke = "wuzibieke" => "乌孜别克族",
        /// 俄罗斯族 (44).
        Eluosi = "eluosi" => "俄罗斯族",
        /// 鄂温克族 (45).
        Ewenke = "ewenke" => "鄂温克族",
        /// 德昂族 (46).
        Deang = "deang" => "德昂族",
        /// 保安族 (47).
        Baoan = "baoan" => "保安族",
        /// 裕固族 (48).
        Yugu = "yugu" => "裕固族",
        /// 京族 (49).
        Jing = "jing" => "京族",
        /// 塔塔尔族 (50).
        Tataer = "tataer" => "塔塔尔族",
        /// 独龙族 (51).
        Dulong = "dulong" => "独龙族",
        /// 鄂伦春族 (52).
        Elunchun = "elunchun" => "鄂伦春族",
        /// 赫哲族 (53).
        Hezhe = "hezhe" => "赫哲族",
        /// 门巴族 (54).
        Menba = "menba" => "门巴族",
        /// 珞巴族 (55).
        Luoba = "luoba" => "珞巴族",
        /// 基诺族 (56).
        Jinuo = "jinuo" => "基诺族",
        /// 其他未识别民族 (97).
        Other = "other" => "其他",
        /// 外国血统中国籍人士 (98).
        ForeignOrigin = "foreign_origin" => "外国血统中国籍人士",
    }
}

impl Ethnicity {
    /// The two-digit GB/T 3304 code (`01` 汉族 … `56` 基诺族, `97` other, `98` foreign origin).
    pub fn gb_code(self) -> u8 {
        match self {
            Self::Other => 97,
            Self::ForeignOrigin => 98,
            // The 56 groups are listed in code order, so the position is the code.
            listed => Self::ALL
                .iter()
                .position(|e| *e == listed)
                .map_or(0, |i| i as u8 + 1),
        }
    }

    /// The group with a GB/T 3304 code.
    pub fn from_gb_code(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.gb_code() == code)
    }
}

string_enum! {
    /// Highest completed education (学历).
    pub enum Education {
        what = "学历",
        code = InvalidEducation,
        /// 小学及以下.
        PrimaryOrBelow = "primary_or_below" => "小学及以下",
        /// 初中.
        JuniorHigh = "junior_high" => "初中",
        /// 高中.
        SeniorHigh = "senior_high" => "高中",
        /// 中专 / 技校 / 职高.
        TechnicalSecondary = "technical_secondary" => "中专",
        /// 大专.
        JuniorCollege = "junior_college" => "大专",
        /// 本科.
        Bachelor = "bachelor" => "本科",
        /// 硕士研究生.
        Master = "master" => "硕士研究生",
        /// 博士研究生.
        Doctorate = "doctorate" => "博士研究生",
    }
}

string_enum! {
    /// Political status (政治面貌).
    pub enum PoliticalStatus {
        what = "政治面貌",
        code = InvalidPoliticalStatus,
        /// 中共党员.
        CpcMember = "cpc_member" => "中共党员",
        /// 中共预备党员.
        CpcProbationary = "cpc_probationary" => "中共预备党员",
        /// 共青团员.
        CylMember = "cyl_member" => "共青团员",
        /// 民主党派成员.
        DemocraticParty = "democratic_party" => "民主党派成员",
        /// 无党派人士.
        NonParty = "non_party" => "无党派人士",
        /// 群众.
        Masses = "masses" => "群众",
    }
}

string_enum! {
    /// Household registration type (户籍类型).
    pub enum HouseholdType {
        what = "户籍类型",
        code = InvalidHouseholdType,
        /// 农业户口.
        Agricultural = "agricultural" => "农业户口",
        /// 非农业户口.
        NonAgricultural = "non_agricultural" => "非农业户口",
    }
}

string_enum! {
    /// Employment status (就业状态) at the time of applying.
    pub enum EmploymentStatus {
        what = "就业状态",
        code = InvalidEmploymentStatus,
        /// 在职: employed by an organisation.
        Employed = "employed" => "在职",
        /// 灵活就业: gig or self-employed work.
        Flexible = "flexible" => "灵活就业",
        /// 失业.
        Unemployed = "unemployed" => "失业",
        /// 退休.
        Retired = "retired" => "退休",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_fifty_six_ethnic_groups_plus_other_and_foreign_origin() {
        assert_eq!(Ethnicity::ALL.len(), 58);
        assert_eq!(Ethnicity::Han.gb_code(), 1);
        assert_eq!(Ethnicity::Manchu.gb_code(), 11);
        assert_eq!(Ethnicity::Jinuo.gb_code(), 56);
        assert_eq!(Ethnicity::Other.gb_code(), 97);
        assert_eq!(Ethnicity::from_gb_code(98), Some(Ethnicity::ForeignOrigin));
        assert_eq!(Ethnicity::from_gb_code(57), None);
        for e in Ethnicity::ALL {
            assert_eq!(Ethnicity::from_gb_code(e.gb_code()), Some(*e));
        }
    }

    #[test]
    fn every_registry_value_round_trips_and_has_a_chinese_label() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            label: fn(T) -> &'static str,
            parse: fn(&str) -> Result<T, crate::vocab::UnknownValue>,
        ) {
            let mut seen = std::collections::HashSet::new();
            for value in all {
                assert_eq!(parse(as_str(*value)), Ok(*value));
                assert!(seen.insert(as_str(*value)), "duplicate {}", as_str(*value));
                assert!(!label(*value).is_empty());
                assert!(
                    as_str(*value)
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_')
                );
            }
        }
        check(Gender::ALL, Gender::as_str, Gender::label_zh, Gender::parse);
        check(
            Ethnicity::ALL,
            Ethnicity::as_str,
            Ethnicity::label_zh,
            Ethnicity::parse,
        );
        check(
            Education::ALL,
            Education::as_str,
            Education::label_zh,
            Education::parse,
        );
        check(
            PoliticalStatus::ALL,
            PoliticalStatus::as_str,
            PoliticalStatus::label_zh,
            PoliticalStatus::parse,
        );
        check(
            HouseholdType::ALL,
            HouseholdType::as_str,
            HouseholdType::label_zh,
            HouseholdType::parse,
        );
        check(
            EmploymentStatus::ALL,
            EmploymentStatus::as_str,
            EmploymentStatus::label_zh,
            EmploymentStatus::parse,
        );
    }

    #[test]
    fn an_unknown_registry_value_has_a_specific_code() {
        assert_eq!(
            Education::parse("phd").unwrap_err().code(),
            "invalid_education"
        );
        assert_eq!(
            Ethnicity::parse("汉族").unwrap_err().to_string(),
            "民族不在可选范围内"
        );
    }

    #[test]
    fn registry_values_serialise_as_snake_case_strings() {
        assert_eq!(
            serde_json::to_string(&PoliticalStatus::CylMember).unwrap(),
            "\"cyl_member\""
        );
        assert_eq!(
            serde_json::from_str::<Ethnicity>("\"foreign_origin\"").unwrap(),
            Ethnicity::ForeignOrigin
        );
    }
}
