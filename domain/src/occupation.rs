//! Occupation groups (职业类别): a controlled list, not free text, so statistics per group are
//! exact ("职业清晰、统计精准").

use crate::vocab::string_enum;

string_enum! {
    /// The occupation group an applicant works in.
    pub enum OccupationGroup {
        what = "职业类别",
        code = InvalidOccupationGroup,
        /// 外卖配送员 (key group).
        DeliveryRider = "delivery_rider" => "外卖配送员",
        /// 快递员 (key group).
        Courier = "courier" => "快递员",
        /// 网约车司机 (key group).
        RideHailingDriver = "ride_hailing_driver" => "网约车司机",
        /// 货车司机 (key group).
        TruckDriver = "truck_driver" => "货车司机",
        /// 家政服务员.
        DomesticWorker = "domestic_worker" => "家政服务员",
        /// 护工.
        CareWorker = "care_worker" => "护工",
        /// 保安员.
        SecurityGuard = "security_guard" => "保安员",
        /// 保洁员.
        Cleaner = "cleaner" => "保洁员",
        /// 网络主播.
        LivestreamHost = "livestream_host" => "网络主播",
        /// 房产经纪人.
        RealEstateAgent = "real_estate_agent" => "房产经纪人",
        /// 建筑工人.
        ConstructionWorker = "construction_worker" => "建筑工人",
        /// 工厂工人.
        FactoryWorker = "factory_worker" => "工厂工人",
        /// 农业工人.
        FarmWorker = "farm_worker" => "农业工人",
        /// 其他.
        Other = "other" => "其他",
    }
}

impl OccupationGroup {
    /// Whether this is one of the four key groups of new forms of employment (货车司机、
    /// 网约车司机、快递员、外卖配送员) that membership targets are set for.
    pub const fn is_key_group(self) -> bool {
        matches!(
            self,
            Self::DeliveryRider | Self::Courier | Self::RideHailingDriver | Self::TruckDriver
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_fourteen_groups_of_which_the_first_four_are_key_groups() {
        assert_eq!(OccupationGroup::ALL.len(), 14);
        let key: Vec<_> = OccupationGroup::ALL
            .iter()
            .filter(|g| g.is_key_group())
            .collect();
        assert_eq!(key, OccupationGroup::ALL[..4].iter().collect::<Vec<_>>());
    }

    #[test]
    fn each_group_round_trips_and_has_a_chinese_label() {
        for group in OccupationGroup::ALL {
            assert_eq!(OccupationGroup::parse(group.as_str()), Ok(*group));
        }
        assert_eq!(OccupationGroup::Courier.label_zh(), "快递员");
        assert_eq!(
            OccupationGroup::parse("ride_hailing_driver"),
            Ok(OccupationGroup::RideHailingDriver)
        );
    }

    #[test]
    fn free_text_is_not_an_occupation_group() {
        let error = OccupationGroup::parse("骑手").unwrap_err();
        assert_eq!(error.code(), "invalid_occupation_group");
        assert_eq!(error.to_string(), "职业类别不在可选范围内");
    }
}
